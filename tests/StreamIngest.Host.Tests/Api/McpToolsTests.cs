using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>The real host on Kestrel at 127.0.0.1 (a real socket, not the test server), with the demo replay stored.</summary>
public sealed class KestrelDemoHostFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = StreamIngestApp.Build(
        [
            "--urls=http://127.0.0.1:0", $"--Store:DataPath={TestPaths.NewTempDir()}", "--StatusIntervalSeconds=0",
            "--Feeds:Jetstream:Enabled=false", "--Feeds:Replay:Enabled=true",
            $"--Feeds:Replay:Path={Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl")}",
        ]);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        using var http = new HttpClient { BaseAddress = BaseAddress };
        await StreamIngestHost.StatsAsync(http, s => s.GetProperty("stored").GetInt64() >= 390 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(120));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

/// <summary>The MCP server at /mcp, driven by the official MCP C# client over Streamable HTTP.</summary>
public sealed class McpToolsTests(KestrelDemoHostFixture host) : IClassFixture<KestrelDemoHostFixture>
{
    private async Task<McpClient> ConnectAsync() =>
        await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(host.BaseAddress, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
        }));

    private static JsonElement Json(CallToolResult result)
    {
        Assert.NotEqual(true, result.IsError);
        return JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text).RootElement;
    }

    [Fact]
    public async Task SearchPosts_MinScore_KeepsOnlyResultsEstimatedAtLeastThatRelevant()
    {
        await using var mcp = await ConnectAsync();
        var args = new Dictionary<string, object?> { ["query"] = "river flooding downtown", ["k"] = 20, ["window"] = "P30D" };

        var all = Json(await mcp.CallToolAsync("search_posts", args)).GetProperty("results").EnumerateArray().ToList();
        args["minScore"] = 0.5;
        var confident = Json(await mcp.CallToolAsync("search_posts", args)).GetProperty("results").EnumerateArray().ToList();
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var bad = await http.GetAsync("/v1/search?q=flood&min_score=1.5");

        double Relevance(JsonElement r) => r.GetProperty("score").GetProperty("relevance").GetDouble();
        Assert.All(all, r => Assert.InRange(Relevance(r), 0, 1));
        Assert.Contains(all, r => Relevance(r) < 0.5); // the filter has something to leave out
        Assert.NotEmpty(confident);
        Assert.All(confident, r => Assert.True(Relevance(r) >= 0.5));
        Assert.Equal(all.Count(r => Relevance(r) >= 0.5), confident.Count);
        await ProblemAssert.NamesAsync(bad, "min_score");
    }

    [Fact]
    public async Task ListTools_DescribesEveryToolWithAnInputSchema()
    {
        await using var mcp = await ConnectAsync();

        var tools = await mcp.ListToolsAsync();

        Assert.Equal(
            ["get_feed_status", "get_post", "get_sentiment", "get_stories", "get_trends", "ground_question", "search_posts"],
            tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, t => Assert.True(t.Description.Length > 60, $"{t.Name} needs a description an agent can choose by"));
        var search = tools.Single(t => t.Name == "search_posts").JsonSchema;
        Assert.Equal(["query"], search.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("ISO-8601", search.GetProperty("properties").GetProperty("window").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchPosts_ThenGetPost_ReturnsTheSamePost()
    {
        await using var mcp = await ConnectAsync();

        var found = Json(await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "river flooding downtown", ["k"] = 5, ["window"] = "P30D" }));
        var first = found.GetProperty("results").EnumerateArray().First();
        var post = Json(await mcp.CallToolAsync("get_post", new Dictionary<string, object?> { ["id"] = first.GetProperty("id").GetString() }));

        Assert.Equal(5, found.GetProperty("results").GetArrayLength());
        Assert.Contains("flood", found.GetProperty("results").EnumerateArray().First().GetProperty("text").GetString()!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(first.GetProperty("id").GetString(), post.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("text").GetString(), post.GetProperty("text").GetString());
    }

    [Fact]
    public async Task GroundQuestion_QuotesPostsWithCitations_AndLeavesTheInjectionOut()
    {
        await using var mcp = await ConnectAsync();

        var grounded = Json(await mcp.CallToolAsync("ground_question", new Dictionary<string, object?>
        {
            ["question"] = "Is the Riverton flood real, and which streets are under water?",
            ["window"] = "P30D",
        }));

        Assert.NotEmpty(grounded.GetProperty("citations").EnumerateArray());
        Assert.Contains(grounded.GetProperty("excluded").EnumerateArray(), e => e.GetProperty("reason").GetString()!.Contains("prompt_injection", StringComparison.Ordinal));
        Assert.DoesNotContain("Ignore all previous instructions", grounded.GetProperty("context").GetString()!, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Riverton flood", grounded.GetProperty("question").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FeedStatusTrendsStoriesSentiment_AnswerFromTheStore()
    {
        await using var mcp = await ConnectAsync();

        var feeds = Json(await mcp.CallToolAsync("get_feed_status", new Dictionary<string, object?>()));
        var stories = Json(await mcp.CallToolAsync("get_stories", new Dictionary<string, object?> { ["window"] = "P30D", ["limit"] = 3 }));
        var trends = Json(await mcp.CallToolAsync("get_trends", new Dictionary<string, object?> { ["window"] = "PT12H" }));
        var mood = Json(await mcp.CallToolAsync("get_sentiment", new Dictionary<string, object?> { ["entity"] = "$NVDA", ["window"] = "P30D", ["bucket"] = "P1D" }));

        Assert.Equal(JsonValueKind.Array, feeds.GetProperty("feeds").ValueKind); // the demo runs no live feed: replay is not a connection
        Assert.InRange(stories.GetProperty("stories").GetArrayLength(), 1, 3);
        Assert.True(trends.TryGetProperty("bursts", out _));
        Assert.Equal("$NVDA", mood.GetProperty("entity").GetString());
        Assert.True(mood.GetProperty("posts").GetInt32() > 0);
    }

    [Fact]
    public async Task BadArgument_IsAToolErrorNamingTheArgument()
    {
        await using var mcp = await ConnectAsync();

        var result = await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "flood", ["window"] = "yesterday" });

        Assert.True(result.IsError);
        Assert.Contains("'window'", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryTool_HasAnOutputSchema_AndAnswersWithStructuredContent()
    {
        await using var mcp = await ConnectAsync();

        var tools = await mcp.ListToolsAsync();
        var found = await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "river flooding downtown", ["k"] = 3, ["window"] = "P30D" });

        Assert.All(tools, t => Assert.Equal("object", t.ProtocolTool.OutputSchema?.GetProperty("type").GetString()));
        Assert.True(tools.Single(t => t.Name == "search_posts").ProtocolTool.OutputSchema!.Value.GetProperty("properties").TryGetProperty("results", out _));
        var structured = Assert.IsType<JsonElement>(found.StructuredContent);
        Assert.Equal(3, structured.GetProperty("results").GetArrayLength());
        Assert.Equal(Json(found).GetProperty("results")[0].GetProperty("id").GetString(), structured.GetProperty("results")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Resources_ReadAPostByItsUri_AndTheCurrentStoriesAndTrends()
    {
        await using var mcp = await ConnectAsync();
        var id = Json(await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "flood", ["k"] = 1, ["window"] = "P30D" }))
            .GetProperty("results")[0].GetProperty("id").GetString()!;

        var templates = await mcp.ListResourceTemplatesAsync();
        var resources = await mcp.ListResourcesAsync();
        var post = await mcp.ReadResourceAsync("streamingest://posts/" + Uri.EscapeDataString(id));
        var stories = await mcp.ReadResourceAsync("streamingest://stories/current");

        Assert.Contains(templates, t => t.UriTemplate == "streamingest://posts/{id}");
        Assert.Equal(["streamingest://stories/current", "streamingest://trends/current"], resources.Select(r => r.Uri).Order(StringComparer.Ordinal));
        Assert.Equal(id, JsonDocument.Parse(Assert.IsType<TextResourceContents>(Assert.Single(post.Contents)).Text).RootElement.GetProperty("id").GetString());
        Assert.True(JsonDocument.Parse(Assert.IsType<TextResourceContents>(Assert.Single(stories.Contents)).Text).RootElement.TryGetProperty("stories", out _));
    }

    [Fact]
    public async Task Prompt_GroundedQuestion_QuotesThePostsUnderTheRules()
    {
        await using var mcp = await ConnectAsync();

        var prompts = await mcp.ListPromptsAsync();
        var prompt = await mcp.GetPromptAsync("grounded_question", new Dictionary<string, object?> { ["question"] = "Which streets are flooded in Riverton?", ["window"] = "P30D" });

        Assert.Contains(prompts, p => p.Name == "grounded_question");
        var text = Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text;
        Assert.Contains("Cite every claim", text, StringComparison.Ordinal);
        Assert.Contains("<<<POST [1]>>>", text, StringComparison.Ordinal);
        Assert.Contains("Which streets are flooded in Riverton?", text, StringComparison.Ordinal);
    }
}
