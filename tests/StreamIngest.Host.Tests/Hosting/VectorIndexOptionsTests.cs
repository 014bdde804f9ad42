using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>The embedded store's vector index is built with the sign-bit and graph settings from configuration (<c>Store:*</c>).</summary>
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

    [Fact]
    public async Task VectorGraph_FromTheSetting_IsBuiltAsPostsArrive_ShownInStats_AndFindsWhatTheScanFinds()
    {
        var demo = Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl");
        await using var graph = new StreamIngestHost(TestPaths.NewTempDir(), demo, new Dictionary<string, string?> { ["Store:VectorGraphFromPosts"] = "100" });
        await using var scan = new StreamIngestHost(TestPaths.NewTempDir(), demo, new Dictionary<string, string?> { ["Store:VectorGraphFromPosts"] = "0" });
        var lines = File.ReadLines(demo).Count();

        // The signal: every post stored and searchable, and the graph holding every row the index has.
        var stats = await graph.WaitForStatsAsync(s => s.GetProperty("processed").GetInt64() >= lines && s.GetProperty("queue").GetInt64() == 0
            && s.TryGetProperty("graph_rows", out var rows) && rows.ValueKind == JsonValueKind.Number && rows.GetInt32() >= s.GetProperty("searchable").GetInt32());
        var scanStats = await scan.WaitForProcessedAsync(lines);
        Assert.True(stats.GetProperty("searchable").GetInt32() >= 100);
        Assert.False(scanStats.TryGetProperty("graph_rows", out var none) && none.ValueKind != JsonValueKind.Null);

        // The graph is approximate: the best post is the scan's, and nearly all of the top five (the fp32 re-rank picks
        // from 40 candidates, and which posts stand 40th by int8 can differ between the graph and the scan).
        using var graphClient = graph.CreateClient();
        using var scanClient = scan.CreateClient();
        var shared = 0;
        string[] questions = ["river flooding downtown", "power outage", "earthquake damage", "evacuation shelters", "stock market"];
        foreach (var q in questions)
        {
            var viaGraph = Ids(await graphClient.GetFromJsonAsync<JsonElement>($"/v1/search?q={Uri.EscapeDataString(q)}&mode=vector&k=5"));
            var viaScan = Ids(await scanClient.GetFromJsonAsync<JsonElement>($"/v1/search?q={Uri.EscapeDataString(q)}&mode=vector&k=5"));
            Assert.Equal(viaScan[0], viaGraph[0]);
            shared += viaGraph.Intersect(viaScan).Count();
        }

        Assert.True(shared >= 23, $"{shared} of the scan's {5 * questions.Length} top-five posts found through the graph");
    }

    private static List<string> Ids(JsonElement search) => [.. search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()!)];
}
