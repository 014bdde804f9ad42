using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests;

/// <summary>
/// The real host (Program) on a test server, with its own data folder and replay file.
/// Nothing is faked: ONNX embedder, SQLite file, channel transport and workers all run.
/// </summary>
public sealed class StreamIngestHost(string dataDir, string? replayPath, IDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Store:DataPath", dataDir);
        builder.UseSetting("StatusIntervalSeconds", "0");
        builder.UseSetting("Feeds:Jetstream:Enabled", "false"); // tests never reach an outside host
        // Most fixtures replay the demo as fast as the pipeline goes and ask questions meanwhile, many at once: the
        // capacity split would rightly refuse some of those (ingest first). The tests that are about it turn it on.
        builder.UseSetting("Capacity:Enabled", "false");
        builder.UseSetting("Feeds:Replay:Enabled", replayPath is null ? "false" : "true");
        if (replayPath is not null)
        {
            builder.UseSetting("Feeds:Replay:Path", replayPath);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

    public static JsonSerializerOptions Json => PostJson.Options;

    /// <summary>Polls /v1/stats until the condition holds (the pipeline is asynchronous by design).</summary>
    public async Task<JsonElement> WaitForStatsAsync(Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        using var client = CreateClient();
        return await StatsAsync(client, condition, timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Polls <c>/v1/stats</c> through <paramref name="client"/> (any host, test server or real socket) until the condition holds.</summary>
    public static async Task<JsonElement> StatsAsync(HttpClient client, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        JsonElement stats = default;
        try
        {
            await Eventually.UntilAsync(async () => condition(stats = await client.GetFromJsonAsync<JsonElement>("/v1/stats")), timeout, "the pipeline's expected state");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"pipeline did not reach the expected state; last stats: {stats}");
        }

        return stats;
    }

    /// <summary>Waits until this process has fully handled <paramref name="events"/> feed events.</summary>
    public Task<JsonElement> WaitForProcessedAsync(int events, TimeSpan? timeout = null) =>
        WaitForStatsAsync(s => s.GetProperty("processed").GetInt64() >= events && s.GetProperty("queue").GetInt64() == 0, timeout);
}

/// <summary>Writes normalised-post JSONL replay files for tests.</summary>
public static class ReplayFile
{
    public static string Write(string dir, IEnumerable<object> lines, string name = "replay.jsonl")
    {
        var path = Path.Combine(dir, name);
        File.WriteAllLines(path, lines.Select(l => l as string ?? JsonSerializer.Serialize(l)));
        return path;
    }

    public static object Post(string id, string text, int minutesAgo, string author = "reporter", string lang = "en", long likes = 0) => new
    {
        source = "demo",
        id,
        text,
        created_at = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        author = new { handle = author, name = author.ToUpperInvariant(), followers = 10 },
        url = $"https://example.com/{author}/{id}",
        lang,
        metrics = new { likes, reposts = 0, replies = 0, quotes = 0 },
    };
}

/// <summary>The API's answer to a bad request: 400 Problem Details whose <c>errors</c> name what was wrong.</summary>
public static class ProblemAssert
{
    public static async Task NamesAsync(HttpResponseMessage response, params string[] parameters)
    {
        Xunit.Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Xunit.Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Xunit.Assert.Equal(400, problem.GetProperty("status").GetInt32());
        foreach (var parameter in parameters)
        {
            Xunit.Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), $"errors should name '{parameter}': {problem}");
        }
    }
}

/// <summary>An error on the OpenAI-compatible paths: OpenAI's envelope <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class OpenAiErrorAssert
{
    public static async Task<JsonElement> NamesAsync(HttpResponseMessage response, string param, System.Net.HttpStatusCode status = System.Net.HttpStatusCode.BadRequest)
    {
        var body = await response.Content.ReadAsStringAsync();
        Xunit.Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Xunit.Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Xunit.Assert.Equal(param, error.GetProperty("param").GetString());
        Xunit.Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Xunit.Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
        return error;
    }
}

/// <summary>Keys made the way the <c>keys create</c> command makes them, in a data folder's store, before a host opens it.</summary>
public static class TestKeys
{
    public static async Task<string> CreateAsync(string dataDir, string name, string[] scopes, int requestsPerMinute = 1000)
    {
        using var db = new StreamIngest.Embedded.Sqlite.SqliteDatabase(Path.Combine(dataDir, new StreamIngest.Embedded.Sqlite.SqliteOptions().FileName));
        var (key, record) = StreamIngest.Host.Auth.ApiKeys.Create(name, scopes, requestsPerMinute, DateTimeOffset.UtcNow);
        await new StreamIngest.Embedded.Sqlite.SqliteApiKeyStore(db).AddAsync(record, CancellationToken.None);
        return key;
    }
}
