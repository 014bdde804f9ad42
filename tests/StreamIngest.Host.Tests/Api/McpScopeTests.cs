using System.Net.Http.Headers;
using System.Net.Http.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using StreamIngest.Host.Auth;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>A host that requires keys, with the demo stored, for the MCP server's per-tool scopes and protocol budget.</summary>
public sealed class KeyedMcpHostFixture : IAsyncLifetime
{
    public string SearchOnly { get; private set; } = null!;
    public string Grounding { get; private set; } = null!;
    public string FivePerMinute { get; private set; } = null!;

    public StreamIngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var data = TestPaths.NewTempDir();
        SearchOnly = await TestKeys.CreateAsync(data, "searcher", [Scopes.Search]);
        Grounding = await TestKeys.CreateAsync(data, "grounder", [Scopes.Ground]);
        FivePerMinute = await TestKeys.CreateAsync(data, "small-agent", [Scopes.Search], 5);

        Host = new StreamIngestHost(data, Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl"), new Dictionary<string, string?> { ["Auth:Mode"] = "Keys" });
        using var admin = Host.CreateClient();
        await Eventually.UntilAsync(
            async () => (await admin.GetAsync(new Uri("/health/live", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the host to start");
    }

    /// <summary>The official MCP C# client over Streamable HTTP, through the test server, sending <paramref name="key"/>.</summary>
    public async Task<McpClient> ConnectAsync(string key)
    {
        var http = Host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await McpClient.CreateAsync(new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = new Uri(Host.Server.BaseAddress, "/mcp"), TransportMode = HttpTransportMode.StreamableHttp }, http, null, ownsHttpClient: true));
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class McpScopeTests(KeyedMcpHostFixture keyed) : IClassFixture<KeyedMcpHostFixture>
{
    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(t => t.Text));

    [Fact]
    public async Task SearchOnlyKey_CannotGround_AsOverHttp()
    {
        await using var mcp = await keyed.ConnectAsync(keyed.SearchOnly);
        using var http = keyed.Host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", keyed.SearchOnly);

        var grounded = await mcp.CallToolAsync("ground_question", new Dictionary<string, object?> { ["question"] = "Which streets are flooded?" });
        var searched = await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "flood", ["k"] = 2 });
        using var overHttp = await http.PostAsJsonAsync("/v1/ground", new { question = "Which streets are flooded?" });

        Assert.Equal(System.Net.HttpStatusCode.Forbidden, overHttp.StatusCode);
        Assert.True(grounded.IsError);
        Assert.Contains("needs the 'ground' scope", Text(grounded), StringComparison.Ordinal);
        Assert.DoesNotContain("<<<POST", Text(grounded), StringComparison.Ordinal);
        Assert.NotEqual(true, searched.IsError);
    }

    [Fact]
    public async Task GroundOnlyKey_ConnectsAndGrounds_ButCannotSearch()
    {
        await using var mcp = await keyed.ConnectAsync(keyed.Grounding);

        var grounded = await mcp.CallToolAsync("ground_question", new Dictionary<string, object?> { ["question"] = "Which streets are flooded?", ["window"] = "P30D" });
        var searched = await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "flood" });

        Assert.NotEqual(true, grounded.IsError);
        Assert.True(searched.IsError);
        Assert.Contains("needs the 'search' scope", Text(searched), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FivePerMinuteKey_ConnectsListsAndCalls_ProtocolTrafficIsNotCharged()
    {
        // initialize + notifications/initialized + tools/list are protocol traffic; only the calls spend the budget.
        await using var mcp = await keyed.ConnectAsync(keyed.FivePerMinute);
        await mcp.ListToolsAsync();

        for (var i = 0; i < 5; i++)
        {
            var result = await mcp.CallToolAsync("get_feed_status", new Dictionary<string, object?>());
            Assert.NotEqual(true, result.IsError);
        }

        var sixth = await Record.ExceptionAsync(() => mcp.CallToolAsync("get_feed_status", new Dictionary<string, object?>()).AsTask());
        Assert.NotNull(sixth); // the sixth call in the minute is over the key's own limit (HTTP 429)
    }

    [Theory]
    [InlineData("""{"k":3}""", "'query' is required")]
    [InlineData("""{"query":"flood","k":"ten"}""", "'k' must be integer, not the string \"ten\"")]
    [InlineData("""{"q":"flood"}""", "takes no argument 'q'")]
    [InlineData("""{"query":"flood","k":500}""", "'k' must be an integer from 1 to 100")]
    [InlineData("""{"query":"flood","window":"yesterday"}""", "'window' must be a positive ISO-8601 duration")]
    public async Task ArgumentErrors_NameTheArgumentByItsMcpName(string arguments, string expected)
    {
        await using var mcp = await keyed.ConnectAsync(keyed.SearchOnly);

        var result = await mcp.CallToolAsync(
            "search_posts", System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments));

        Assert.True(result.IsError);
        Assert.Contains(expected, Text(result), StringComparison.Ordinal);
        Assert.DoesNotContain("'q'", Text(result).Replace("argument 'q'", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchOnlyKey_CannotGetTheGroundedPrompt_ButReadsPosts()
    {
        await using var mcp = await keyed.ConnectAsync(keyed.SearchOnly);

        var refused = await Assert.ThrowsAnyAsync<ModelContextProtocol.McpException>(() =>
            mcp.GetPromptAsync("grounded_question", new Dictionary<string, object?> { ["question"] = "flood?" }).AsTask());
        var stories = await mcp.ReadResourceAsync("streamingest://stories/current");

        Assert.Contains("needs the 'ground' scope", refused.Message, StringComparison.Ordinal);
        Assert.Single(stories.Contents);
    }
}
