using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>One host replaying the bundled demo, shared by the signal-filter tests.</summary>
public sealed class DemoHostFixture : IAsyncLifetime
{
    public StreamIngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = new StreamIngestHost(TestPaths.NewTempDir(), Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl"));
        await Host.WaitForStatsAsync(s => s.GetProperty("stored").GetInt64() >= 390 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(120));
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>Search and ground filtered by the signals enrichment stored: sentiment, safety, engagement, author, domain.</summary>
public sealed class SignalFilterTests(DemoHostFixture demo) : IClassFixture<DemoHostFixture>
{
    private async Task<List<JsonElement>> SearchAsync(string query)
    {
        using var client = demo.Host.CreateClient();
        var response = await client.GetFromJsonAsync<JsonElement>($"/v1/search?window=P30D&k=20&{query}");
        return [.. response.GetProperty("results").EnumerateArray()];
    }

    [Fact]
    public async Task Sentiment_FiltersByLabelAndScore()
    {
        var negative = await SearchAsync("q=flood&sentiment=negative");
        var positive = await SearchAsync("q=cup+final&min_sentiment=0.3");

        Assert.NotEmpty(negative);
        Assert.All(negative, r => Assert.Equal("negative", r.GetProperty("sentiment").GetProperty("label").GetString()));
        Assert.NotEmpty(positive);
        Assert.All(positive, r => Assert.True(r.GetProperty("sentiment").GetProperty("score").GetDouble() >= 0.3));
    }

    [Fact]
    public async Task Safety_ExcludeLeavesLabelledPostsOut()
    {
        var all = await SearchAsync("q=ignore+previous+instructions+flood+hoax");
        var safe = await SearchAsync("q=ignore+previous+instructions+flood+hoax&safety=exclude");

        Assert.Contains(all, r => r.GetProperty("safety_labels").GetArrayLength() > 0);
        Assert.NotEmpty(safe);
        Assert.All(safe, r => Assert.Equal(0, r.GetProperty("safety_labels").GetArrayLength()));
    }

    [Fact]
    public async Task AuthorDomainAndEngagement_Filter()
    {
        var byAuthor = await SearchAsync("q=river&author=%40rivertonwx");
        var notAuthor = await SearchAsync("q=river&exclude_author=rivertonwx");
        var engaged = await SearchAsync("q=flood&min_engagement=5");

        Assert.NotEmpty(byAuthor);
        Assert.All(byAuthor, r => Assert.Equal("rivertonwx", r.GetProperty("author").GetProperty("handle").GetString()));
        Assert.DoesNotContain(notAuthor, r => r.GetProperty("author").GetProperty("handle").GetString() == "rivertonwx");
        Assert.NotEmpty(engaged);
        Assert.All(engaged, r => Assert.True(r.GetProperty("metrics").GetProperty("total").GetInt64() >= 5));
    }

    [Fact]
    public async Task Domain_MatchesLinkedHostsAndSubdomains()
    {
        var results = await SearchAsync("q=strike&domain=example.org");

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Contains(r.GetProperty("entities").GetProperty("urls").EnumerateArray(), u => new Uri(u.GetString()!).Host.EndsWith("example.org", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Ground_AcceptsTheSameFilters()
    {
        using var client = demo.Host.CreateClient();

        var response = await client.PostAsJsonAsync("/v1/ground", new { question = "How are the stocks doing?", window = "P30D", k = 5, min_sentiment = 0.2 });
        var bad = await client.PostAsJsonAsync("/v1/ground", new { question = "x", sentiment = "angry" });

        response.EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("sentiment", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sentiment_ForATicker_GivesMoodPerBucketAndWhetherItTurns()
    {
        using var client = demo.Host.CreateClient();

        var nvda = await client.GetFromJsonAsync<JsonElement>("/v1/sentiment?entity=%24NVDA&window=PT6H&bucket=PT1H");
        var none = await client.GetFromJsonAsync<JsonElement>("/v1/sentiment?entity=%24ZZZZ&window=PT6H");

        Assert.Equal("$NVDA", nvda.GetProperty("entity").GetString());
        Assert.True(nvda.GetProperty("posts").GetInt32() > 0);
        Assert.InRange(nvda.GetProperty("ticker_mean").GetDouble(), -1, 1);
        Assert.Equal(6, nvda.GetProperty("buckets").GetArrayLength());
        Assert.Equal(nvda.GetProperty("posts").GetInt32(), nvda.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("posts").GetInt32()));
        Assert.Contains(nvda.GetProperty("direction").GetString(), new[] { "rising", "falling", "steady", "unknown" });
        Assert.Equal(0, none.GetProperty("posts").GetInt32());
        Assert.Equal("unknown", none.GetProperty("direction").GetString());
    }

    [Fact]
    public async Task Trends_MergeComputedBurstsWithPlatformTrends()
    {
        using var client = demo.Host.CreateClient();

        var all = await client.GetFromJsonAsync<JsonElement>("/v1/trends?window=PT1H");
        var cashtags = await client.GetFromJsonAsync<JsonElement>("/v1/trends?window=PT1H&kind=cashtag");
        var bad = await client.GetAsync("/v1/trends?window=P2D&kind=emoji");

        Assert.NotEmpty(all.GetProperty("bursts").EnumerateArray());   // the demo's stories start within the hour: they burst
        Assert.All(cashtags.GetProperty("bursts").EnumerateArray(), b => Assert.Equal("cashtag", b.GetProperty("kind").GetString()));
        Assert.All(all.GetProperty("bursts").EnumerateArray(), b => Assert.True(b.GetProperty("score").GetDouble() >= 4));
        Assert.Equal(JsonValueKind.Array, all.GetProperty("platform").ValueKind);
        await ProblemAssert.NamesAsync(bad, "window", "kind");
    }

    [Fact]
    public async Task Stories_ListTheLargestAndFastestGrowingStoriesOfTheDemo()
    {
        using var client = demo.Host.CreateClient();

        var bySize = await client.GetFromJsonAsync<JsonElement>("/v1/stories?window=PT6H");
        var byGrowth = await client.GetFromJsonAsync<JsonElement>("/v1/stories?window=PT6H&sort=growth&limit=3");
        var bad = await client.GetAsync("/v1/stories?window=PT6H&sort=loudest&limit=0");

        var stories = bySize.GetProperty("stories").EnumerateArray().ToList();
        Assert.NotEmpty(stories);
        Assert.All(stories, s => Assert.True(s.GetProperty("size").GetInt32() >= 2));
        Assert.Equal(stories.Select(s => s.GetProperty("size").GetInt32()).OrderDescending(), stories.Select(s => s.GetProperty("size").GetInt32()));
        Assert.All(stories, s => Assert.Equal(s.GetProperty("cluster_id").GetString(), s.GetProperty("representative").GetProperty("cluster_id").GetString()));
        Assert.True(byGrowth.GetProperty("stories").GetArrayLength() <= 3);
        await ProblemAssert.NamesAsync(bad, "sort", "limit");
    }

    [Fact]
    public async Task Search_CollapsesAStoryToOneResultWithItsCount()
    {
        var results = await SearchAsync("q=mayor+lakeport+strike+table");

        var top = results[0];
        Assert.True(top.GetProperty("duplicates").GetInt32() >= 1, "the strike headline was posted by several accounts: one result, with a count");
        Assert.Equal(results.Count, results.Select(r => r.GetProperty("id").GetString()).Distinct().Count());
    }
}
