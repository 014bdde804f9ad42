using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using OpenAI;
using OpenAI.Chat;
using StreamIngest.Capacity;
using StreamIngest.Host.Auth;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// A host whose query budget is one a second (a bucket of two, one of them held back for admin keys), so that what
/// happens beyond capacity can be seen from the clients users run.
/// </summary>
public sealed class SmallCapacityHostFixture : IAsyncLifetime
{
    public string App { get; private set; } = null!;
    public string Operator { get; private set; } = null!;
    public StreamIngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var data = TestPaths.NewTempDir();
        App = await TestKeys.CreateAsync(data, "trading-app", [Scopes.Search, Scopes.Ground], 10_000);
        Operator = await TestKeys.CreateAsync(data, "operator", [Scopes.Admin], 10_000);
        Host = new StreamIngestHost(data, replayPath: null, new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Keys",
            ["Capacity:Enabled"] = "true",
            ["Capacity:MaxQueriesPerSecond"] = "1",
            ["Capacity:MinQueriesPerSecond"] = "1",
            ["Capacity:PriorityShare"] = "0.5",
        });
        using var client = Host.CreateClient();
        await Eventually.UntilAsync(
            async () => (await client.GetAsync(new Uri("/health/live", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the host to start");
    }

    public HttpClient Client(string key)
    {
        var http = Host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>Searches until one is refused: the app's share of the budget is spent (the admins' share is left).</summary>
    public async Task SpendAsync()
    {
        using var http = Client(App);
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return;
            }
        }

        throw new InvalidOperationException("twenty searches at one a second were never refused");
    }

    /// <summary>The wait a refusal asks for (<c>retry-after-ms</c>).</summary>
    public static TimeSpan RetryAfter(HttpResponseMessage refused) =>
        TimeSpan.FromMilliseconds(int.Parse(refused.Headers.GetValues("retry-after-ms").Single(), CultureInfo.InvariantCulture));

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class CapacityTests(SmallCapacityHostFixture fixture) : IClassFixture<SmallCapacityHostFixture>
{
    [Fact]
    public async Task BeyondCapacity_SearchesAreRefusedAtOnce_With429RetryAfterAndProblemDetails()
    {
        using var http = fixture.Client(fixture.App);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => http.GetAsync(new Uri($"/v1/search?q=flood+{i}", UriKind.Relative))));

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.True(refused.Count >= 5, $"{refused.Count} of 8 refused at one query a second");
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));
        foreach (var response in refused)
        {
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.True(int.Parse(response.Headers.GetValues("retry-after-ms").Single(), CultureInfo.InvariantCulture) > 0);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
            Assert.Equal("The service is at capacity", problem.GetProperty("title").GetString());
        }

        using var admin = fixture.Client(fixture.Operator);
        using var stats = await admin.GetAsync(new Uri("/v1/stats", UriKind.Relative)); // not a query: never refused
        var capacity = (await stats.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("capacity");
        Assert.True(capacity.GetProperty("queries_refused").GetInt64() >= refused.Count);
        Assert.Equal(1, capacity.GetProperty("query_rate_limit").GetDouble());
    }

    [Fact]
    public async Task AnAdminKey_GetsThroughWhereAnAppIsRefused()
    {
        using var app = fixture.Client(fixture.App);
        using var admin = fixture.Client(fixture.Operator);

        // Admitted leaves at least the held-back token; the app's next is refused; the operator's spends that token.
        for (var i = 0; i < 20; i++)
        {
            using var first = await app.GetAsync(new Uri("/v1/search?q=power", UriKind.Relative));
            if (first.StatusCode != HttpStatusCode.OK)
            {
                await Task.Delay(SmallCapacityHostFixture.RetryAfter(first)); // as the server asked
                continue;
            }

            using var second = await app.GetAsync(new Uri("/v1/search?q=power", UriKind.Relative));
            if (second.StatusCode != HttpStatusCode.TooManyRequests)
            {
                continue; // the first took long enough for the bucket to refill: try again
            }

            using var byOperator = await admin.GetAsync(new Uri("/v1/search?q=power", UriKind.Relative));
            Assert.True(byOperator.StatusCode == HttpStatusCode.OK, await byOperator.Content.ReadAsStringAsync());
            return;
        }

        Assert.Fail("no admitted search was followed by a refused one in twenty tries at one a second");
    }

    [Fact]
    public async Task TheOpenAiClient_SeesARateLimitError_ItCanRetry()
    {
        await fixture.SpendAsync();
        var client = new ChatClient("streamingest", new ApiKeyCredential(fixture.App), new OpenAIClientOptions
        {
            Endpoint = new Uri(fixture.Host.Server.BaseAddress, "/v1"),
            Transport = new HttpClientPipelineTransport(fixture.Host.CreateClient()),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Which streets are flooded?")]));

        Assert.Equal(429, error.Status);
        Assert.Contains("at capacity", error.Message, StringComparison.Ordinal);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("retry-after-ms", out var ms) && int.Parse(ms!, CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task TheMcpClient_ConnectsAndLists_ButASearchToolBeyondCapacityIsAToolErrorWithItsWait()
    {
        await fixture.SpendAsync();
        var http = fixture.Client(fixture.App);
        await using var mcp = await McpClient.CreateAsync(new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = new Uri(fixture.Host.Server.BaseAddress, "/mcp"), TransportMode = HttpTransportMode.StreamableHttp }, http, null, ownsHttpClient: true));
        var tools = await mcp.ListToolsAsync(); // protocol traffic is never refused

        // The budget refills at one a second: call until a refusal shows (at most a few calls).
        CallToolResult? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            var result = await mcp.CallToolAsync("search_posts", new Dictionary<string, object?> { ["query"] = "flood", ["k"] = 2 });
            refused = result.IsError == true ? result : null;
        }

        Assert.Contains(tools, t => t.Name == "search_posts");
        Assert.NotNull(refused);
        Assert.StartsWith("At capacity:", string.Concat(refused.Content.OfType<TextContentBlock>().Select(t => t.Text)), StringComparison.Ordinal);
        Assert.True(refused.Meta?["retry_after_ms"]?.GetValue<int>() > 0);
    }
}
