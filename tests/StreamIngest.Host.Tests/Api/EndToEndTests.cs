using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Replay a file through the whole host, wait until searchable, query and ground over HTTP.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir();

    private static IEnumerable<object> Lines() =>
    [
        ReplayFile.Post("f1", "River flooding downtown: Main St underwater, cars stalled #RivertonFlood", 5, "rivertonwx", likes: 40),
        ReplayFile.Post("f2", "Evacuation order for downtown Riverton as the flood waters keep rising. Shelter at Lincoln High.", 12, "cityofriverton"),
        ReplayFile.Post("f3", "Flood update: Bridge Rd closed, water over the road near downtown", 20, "ashvalleynews"),
        ReplayFile.Post("f-old", "Flooding downtown last year was worse than this", 300, "historian"),
        ReplayFile.Post("s1", "Subway workers walk off the job, no trains today #LakeportStrike", 8, "lakeport_times"),
        ReplayFile.Post("m1", "$NVDA beats on revenue, data center up 112% y/y", 3, "tradertess"),
        ReplayFile.Post("o1", "Sourdough came out perfect this morning", 2, "baker_ben"),
        ReplayFile.Post("o2", "My cat sleeps on the keyboard again", 15, "catsofmaple"),
        "{ this line is not json",
        """{"source":"demo","id":"o2","deleted":true}""",
    ];

    /// <summary>8 posts and 1 delete reach the pipeline; the malformed line is dead-lettered by the feed.</summary>
    private static async Task WaitForReplayAsync(StreamIngestHost host)
    {
        var stats = await host.WaitForProcessedAsync(9);
        Assert.Equal(7, stats.GetProperty("stored_posts").GetInt64());
        Assert.Equal(1, stats.GetProperty("rejected").GetInt64());
    }

    [Fact]
    public async Task Search_AfterReplay_ReturnsFreshRelevantPostsWithEveryField()
    {
        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()));
        await WaitForReplayAsync(host);
        using var client = host.CreateClient();

        var response = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=flooding+downtown&window=PT1H&k=3");

        var results = response.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["demo:f1", "demo:f2", "demo:f3"], results.Select(r => r.GetProperty("id").GetString()).Order());
        var first = results[0];
        foreach (var field in new[] { "id", "source", "author", "text", "created_at", "url", "entities", "score" })
        {
            Assert.True(first.TryGetProperty(field, out _), $"result lacks '{field}'");
        }

        var score = first.GetProperty("score");
        Assert.True(score.GetProperty("vector").GetDouble() > 0.3);
        Assert.True(score.GetProperty("recency").GetDouble() > 0.9);
        Assert.True(score.TryGetProperty("keyword", out _));
        Assert.Contains(results, r => r.GetProperty("entities").GetProperty("hashtags").EnumerateArray().Any(h => h.GetString() == "rivertonflood"));
        // Where the time went, stage by stage, within what the search took.
        var stages = response.GetProperty("stage_ms").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(["embed", "vector", "keyword", "read", "rank"], stages.Keys);
        Assert.All(stages.Values, ms => Assert.InRange(ms, 0, response.GetProperty("took_ms").GetDouble() + 0.01));
    }

    [Fact]
    public async Task Search_ModesAndEntityFilter_AnswerDifferently()
    {
        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()));
        await WaitForReplayAsync(host);
        using var client = host.CreateClient();

        var cashtag = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=earnings&entity=%24nvda");
        var keyword = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=inundation&mode=keyword");
        var vector = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=inundation&mode=vector&k=1&window=PT1H");

        Assert.Equal("demo:m1", Assert.Single(cashtag.GetProperty("results").EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty(keyword.GetProperty("results").EnumerateArray());
        Assert.StartsWith("demo:f", Assert.Single(vector.GetProperty("results").EnumerateArray()).GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 10)]
    [InlineData("0", 0)]
    public async Task Search_ShortlistSetting_ReachesTheRetriever(string? setting, int expected)
    {
        var settings = new Dictionary<string, string?>();
        if (setting is not null)
        {
            settings["Search:ShortlistStories"] = setting;
        }

        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()), settings);

        var retriever = Assert.IsType<Embedded.Sqlite.SqliteRetriever>(host.Services.GetService(typeof(Retrieve.IRetriever)));
        Assert.Equal(expected, retriever.ShortlistStories);
    }

    [Fact]
    public async Task Ground_ReturnsPromptWithNumberedCitationsAndFreshness()
    {
        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()));
        await WaitForReplayAsync(host);
        using var client = host.CreateClient();

        var response = await client.PostAsJsonAsync("/v1/ground", new { question = "What is happening with the floods?", window = "PT2H", k = 3, maxTokens = 2000 });
        response.EnsureSuccessStatusCode();
        var prompt = await response.Content.ReadFromJsonAsync<JsonElement>();

        var citations = prompt.GetProperty("citations").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], citations.Select(c => c.GetProperty("n").GetInt32()));
        Assert.All(citations, c => Assert.StartsWith("demo:f", c.GetProperty("id").GetString(), StringComparison.Ordinal));
        var user = prompt.GetProperty("messages")[1].GetProperty("content").GetString()!;
        foreach (var c in citations)
        {
            var n = c.GetProperty("n").GetInt32();
            Assert.Contains($"<<<POST [{n}]>>>\nid: {c.GetProperty("id").GetString()}", user, StringComparison.Ordinal);
            Assert.Contains($"url: {c.GetProperty("url").GetString()}", user, StringComparison.Ordinal);
        }

        Assert.Contains("cite", prompt.GetProperty("system").GetString()!, StringComparison.OrdinalIgnoreCase);
        var freshness = prompt.GetProperty("freshness");
        Assert.True(freshness.GetProperty("newest").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-10));
        Assert.True(freshness.GetProperty("candidates_considered").GetInt32() >= 3);
        Assert.EndsWith("Question: What is happening with the floods?", user, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ground_OnTheBundledDemo_LeavesTheInjectionPostOutAndSaysWhy()
    {
        await using var host = new StreamIngestHost(_dir, Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl"));
        await host.WaitForStatsAsync(s => s.GetProperty("stored").GetInt64() >= 390 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(120));
        using var client = host.CreateClient();

        var response = await client.PostAsJsonAsync("/v1/ground", new { question = "What is happening with the floods?", window = "PT2H", k = 8 });
        response.EnsureSuccessStatusCode();
        var prompt = await response.Content.ReadFromJsonAsync<JsonElement>();
        var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=ignore+previous+instructions+flood+hoax&window=PT2H&k=3");

        Assert.DoesNotContain("Ignore all previous instructions", prompt.GetProperty("context").GetString()!, StringComparison.OrdinalIgnoreCase);
        var excluded = Assert.Single(prompt.GetProperty("excluded").EnumerateArray());
        Assert.Contains("prompt_injection", excluded.GetProperty("reason").GetString()!, StringComparison.Ordinal);
        Assert.Equal(8, prompt.GetProperty("citations").GetArrayLength());
        var top = search.GetProperty("results")[0];   // still stored and searchable, with its label shown
        Assert.Equal(excluded.GetProperty("id").GetString(), top.GetProperty("id").GetString());
        Assert.Equal("prompt_injection", top.GetProperty("safety_labels")[0].GetProperty("label").GetString());
    }

    [Fact]
    public async Task MalformedJsonBody_Is400ProblemDetails()
    {
        await using var host = new StreamIngestHost(_dir, null);
        using var client = host.CreateClient();

        var response = await client.PostAsync("/v1/ground", new StringContent("{\"question\": ", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UnknownPost_Is404ProblemDetails_AndHealthEndpointsAnswer()
    {
        await using var host = new StreamIngestHost(_dir, null);
        using var client = host.CreateClient();

        var missing = await client.GetAsync("/v1/posts/demo:nope");

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Healthy", await client.GetStringAsync("/health/live"));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
    }

    [Fact]
    public async Task Metrics_PrometheusEndpoint_ExposesThePipelineCounters()
    {
        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()));
        await WaitForReplayAsync(host);
        using var client = host.CreateClient();

        var text = await client.GetStringAsync("/metrics");

        Assert.Contains("streamingest_posts_stored", text, StringComparison.Ordinal);
        Assert.Contains("streamingest_posts_rejected", text, StringComparison.Ordinal);
        Assert.Contains("streamingest_freshness", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadLetters_ShowTheMalformedLineWithItsReasonAndLocation()
    {
        await using var host = new StreamIngestHost(_dir, ReplayFile.Write(_dir, Lines()));
        await WaitForReplayAsync(host);
        using var client = host.CreateClient();

        var letters = await client.GetFromJsonAsync<JsonElement>("/v1/deadletters");

        var letter = Assert.Single(letters.EnumerateArray());
        Assert.Equal("replay.jsonl:9", letter.GetProperty("location").GetString());
        Assert.StartsWith("malformed JSON", letter.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("{ this line is not json", letter.GetProperty("raw").GetString());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a file still held open: the temp folder is cleaned by the OS
        }
    }
}
