using Microsoft.Extensions.Options;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Bad configuration stops the host at start with an error that names the key.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Feeds:Replay:Speed", "-1", "Feeds:Replay:Speed")]
    [InlineData("Feeds:Replay:Path", "/nonexistent/file.jsonl", "Feeds:Replay:Path")]
    [InlineData("Role", "Ingest", "Role must be 'all'")]
    [InlineData("Search:RecencyWeight", "2", "Search:RecencyWeight")]
    [InlineData("Embedding:MaxTokens", "4", "Embedding:MaxTokens")]
    [InlineData("Store:RetentionHours", "-5", "Store:RetentionHours")]
    public void Start_InvalidSetting_FailsNamingTheKey(string key, string value, string expected)
    {
        var dir = TestPaths.NewTempDir();
        var replay = ReplayFile.Write(dir, [ReplayFile.Post("1", "x", 1)]);
        using var host = new StreamIngestHost(dir, replay, new Dictionary<string, string?> { [key] = value });

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        var validation = Flatten(ex).OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(validation is not null, $"expected an options validation error, got {ex}");
        Assert.Contains(validation.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static IEnumerable<Exception> Flatten(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            yield return ex;
            if (ex is AggregateException agg)
            {
                foreach (var inner in agg.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
