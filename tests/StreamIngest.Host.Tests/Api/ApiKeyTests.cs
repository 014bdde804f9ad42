using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Host.Auth;
using StreamIngest.Host.Hosting;
using StreamIngest.Store;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>A host that requires keys, with keys made the way the <c>keys create</c> command makes them.</summary>
public sealed class KeyedHostFixture : IAsyncLifetime
{
    public string Search { get; private set; } = null!;
    public string Limited { get; private set; } = null!;
    public string Admin { get; private set; } = null!;
    public string Revoked { get; private set; } = null!;

    public const string Configured = "si_given-by-configuration";

    public StreamIngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var data = TestPaths.NewTempDir();
        using (var db = new SqliteDatabase(Path.Combine(data, new SqliteOptions().FileName)))
        {
            var store = new SqliteApiKeyStore(db);
            async Task<string> Make(string name, string[] scopes, int perMinute)
            {
                var (key, record) = ApiKeys.Create(name, scopes, perMinute, DateTimeOffset.UtcNow);
                await store.AddAsync(record, CancellationToken.None);
                return key;
            }

            Search = await Make("app", [Scopes.Search], 1000);
            Limited = await Make("tiny", [Scopes.Search], 2);
            Admin = await Make("ops", [Scopes.Admin], 1000);
            Revoked = await Make("old", [Scopes.Search], 1000);
            var old = (await store.ListAsync(CancellationToken.None)).Single(k => k.Name == "old");
            Assert.True(await store.RevokeAsync(old.Id, DateTimeOffset.UtcNow, CancellationToken.None));
        }

        Host = new StreamIngestHost(data, null, new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Keys",
            // A key given by configuration (as a container's settings would), by its hash only.
            ["Auth:Keys:0:Name"] = "from-settings",
            ["Auth:Keys:0:Sha256"] = ApiKeys.Hash(Configured),
            ["Auth:Keys:0:Scopes:0"] = "search",
        });
        using var client = Host.CreateClient(); // starts the host
        await client.GetAsync(new Uri("/health/live", UriKind.Relative));
    }

    public HttpClient Client(string? key)
    {
        var client = Host.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class ApiKeyTests(KeyedHostFixture keyed) : IClassFixture<KeyedHostFixture>
{
    [Theory]
    [InlineData(null, "An API key is required")]
    [InlineData("si_not-a-real-key", "The API key is not valid")]
    public async Task NoOrUnknownKey_Is401ProblemDetails(string? key, string title)
    {
        using var client = keyed.Client(key);

        using var response = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(title, problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task KeyGivenByConfiguration_IsServed()
    {
        using var client = keyed.Client(KeyedHostFixture.Configured);

        using var response = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RevokedKey_IsRefused()
    {
        using var client = keyed.Client(keyed.Revoked);

        using var response = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task KeyWithTheScope_IsServed_AndOtherScopesAre403()
    {
        using var client = keyed.Client(keyed.Search);
        using var viaHeader = new HttpClient { BaseAddress = keyed.Host.Server.BaseAddress };

        using var search = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));
        using var ground = await client.PostAsJsonAsync("/v1/ground", new { question = "flood?" });
        using var deadLetters = await client.GetAsync(new Uri("/v1/deadletters", UriKind.Relative));
        var problem = await ground.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, ground.StatusCode);
        Assert.Contains("'ground'", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, deadLetters.StatusCode);
    }

    [Fact]
    public async Task XApiKeyHeaderAndAdminScope_ReachEverything()
    {
        using var client = keyed.Host.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", keyed.Admin);

        using var deadLetters = await client.GetAsync(new Uri("/v1/deadletters", UriKind.Relative));
        using var search = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
    }

    [Fact]
    public async Task HealthMetricsAndTheApiReference_StayOpenForProbes()
    {
        using var client = keyed.Client(null);

        foreach (var path in new[] { "/health/live", "/metrics", "/openapi/v1.json" })
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task PastTheKeysLimit_Is429WithRetryAfter_AndUsageCountsTheRequests()
    {
        using var client = keyed.Client(keyed.Limited);

        using var first = await client.GetAsync(new Uri("/v1/usage", UriKind.Relative));
        using var second = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));
        using var third = await client.GetAsync(new Uri("/v1/search?q=flood", UriKind.Relative));
        var problem = await third.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.InRange(int.Parse(third.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("Rate limit reached", problem.GetProperty("title").GetString());

        var usage = await first.Content.ReadFromJsonAsync<JsonElement>();
        var own = Assert.Single(usage.EnumerateArray()); // a non-admin key sees only itself
        Assert.Equal("tiny", own.GetProperty("name").GetString());
        Assert.Equal(1, own.GetProperty("requests").GetInt64());
    }

    [Fact]
    public void HostBeyondLoopbackWithoutKeys_RefusesToStartNamingTheCommand()
    {
        var error = Assert.Throws<HostStartRefusedException>(() => StreamIngestApp.Build(
        [
            "--urls=http://0.0.0.0:0", $"--Store:DataPath={TestPaths.NewTempDir()}", "--Feeds:Jetstream:Enabled=false", "--Feeds:Replay:Enabled=false",
        ]));

        Assert.Contains("keys create", error.Message, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0", error.Message, StringComparison.Ordinal);
    }
}
