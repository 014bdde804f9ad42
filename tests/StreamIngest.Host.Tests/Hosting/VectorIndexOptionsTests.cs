using Microsoft.Extensions.DependencyInjection;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>The embedded store's vector index is built with the sign-bit settings from configuration (<c>Store:*</c>).</summary>
public sealed class VectorIndexOptionsTests
{
    [Fact]
    public async Task VectorIndex_TakesItsSignBitSettingsFromTheStoreOptions()
    {
        await using var app = StreamIngestApp.Build(
            ["--Urls=http://127.0.0.1:0", $"--Store:DataPath={TestPaths.NewTempDir()}", "--Store:VectorPrefilterShare=0.2", "--Store:VectorPrefilterFromPosts=1000"]);

        var index = app.Services.GetRequiredService<StreamIngest.Embedded.Vectors.Int8VectorIndex>();

        Assert.Equal((0.2, 1000), (index.PrefilterFraction, index.BinaryPrefilterRows));
    }
}
