using System.Net.Http.Json;
using System.Text.Json;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Stop the host, start it again on the same data folder: posts survive and none is duplicated.</summary>
public sealed class RestartTests
{
    private readonly string _dir = TestPaths.NewTempDir();

    private static object[] Lines() =>
    [
        ReplayFile.Post("1", "Wildfire near Cedar Ridge grows to 4,100 acres #CedarRidgeFire", 5),
        ReplayFile.Post("2", "Smoke from the Cedar Ridge fire, air quality unhealthy", 10),
        ReplayFile.Post("3", "Highway 12 closed near Cedar Ridge because of the wildfire", 15),
    ];

    private static async Task<string[]> SearchIdsAsync(StreamIngestHost host)
    {
        using var client = host.CreateClient();
        var response = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=cedar+ridge+wildfire&k=10&collapse=false");
        return [.. response.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).Order()];
    }

    [Fact]
    public async Task Restart_SameDataFolder_PostsStillSearchableAndReplayingAgainAddsNoDuplicate()
    {
        var replay = ReplayFile.Write(_dir, Lines());
        await using (var first = new StreamIngestHost(_dir, replay))
        {
            await first.WaitForProcessedAsync(3);
            Assert.Equal(["demo:1", "demo:2", "demo:3"], await SearchIdsAsync(first));
        }

        await using (var readOnly = new StreamIngestHost(_dir, null))
        {
            // No feed at all: everything comes from the file, vector index rebuilt at start.
            var stats = await readOnly.WaitForStatsAsync(s => s.GetProperty("searchable").GetInt32() == 3);
            Assert.Equal(3, stats.GetProperty("stored_posts").GetInt64());
            Assert.Equal(["demo:1", "demo:2", "demo:3"], await SearchIdsAsync(readOnly));
        }

        await using (var again = new StreamIngestHost(_dir, replay))
        {
            var stats = await again.WaitForProcessedAsync(3);
            Assert.Equal(3, stats.GetProperty("stored_posts").GetInt64());
            Assert.Equal(3, stats.GetProperty("searchable").GetInt32());
            Assert.Equal(["demo:1", "demo:2", "demo:3"], await SearchIdsAsync(again));
        }
    }
}
