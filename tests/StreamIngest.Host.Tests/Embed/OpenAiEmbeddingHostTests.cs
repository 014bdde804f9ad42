using System.Net.Http.Json;
using System.Text.Json;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Embed;

/// <summary>The whole host with <c>Embedding:Provider=openai</c>: a replay embedded through a local OpenAI-compatible server, searchable, metered.</summary>
public sealed class OpenAiEmbeddingHostTests
{
    [Fact]
    public async Task Replay_EmbeddedThroughTheEndpoint_IsSearchable_AndItsTokensAndCostAreInStats()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var dir = TestPaths.NewTempDir();
        var replay = ReplayFile.Write(dir, Enumerable.Range(0, 12).Select(i => ReplayFile.Post($"p{i}", $"river flooding near bridge {i} closed for traffic", 5 + i)));
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        var key = await TestKeys.CreateAsync(Path.Combine(dir, "data"), "trading-app", ["search", "admin"]);
        await using var host = new StreamIngestHost(Path.Combine(dir, "data"), replay, new Dictionary<string, string?>
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:OpenAI:Endpoint"] = server.Endpoint,
            ["Embedding:OpenAI:ApiKey"] = "sk-local-test",
            ["Embedding:OpenAI:Dimensions"] = "64",
            ["Embedding:OpenAI:BatchSize"] = "5",
        });

        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var stats = await StreamIngestHost.StatsAsync(client, s => s.GetProperty("stored").GetInt64() >= 12 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(60));
        var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=river%20flooding&mode=vector&k=5");
        await client.GetFromJsonAsync<JsonElement>("/v1/search?q=river%20flooding&mode=vector&k=5"); // asked again: from the query cache, no tokens
        var usage = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/v1/usage")).EnumerateArray());
        var embedding = stats.GetProperty("embedding");

        Assert.Equal("openai:text-embedding-3-small@64", embedding.GetProperty("model").GetString());
        Assert.True(embedding.GetProperty("post_tokens").GetInt64() >= 12 * 7, stats.ToString());
        Assert.True(embedding.GetProperty("cost_usd").GetDouble() > 0, stats.ToString());
        Assert.Equal(0, embedding.GetProperty("stored_without_vector").GetInt64());
        Assert.All(server.Requests, r => Assert.True(r.Length <= 5));
        Assert.Equal(5, search.GetProperty("results").GetArrayLength());
        Assert.Contains(server.AskedDimensions, d => d == 64);
        Assert.Equal(2, usage.GetProperty("embedding_tokens").GetInt64()); // "river flooding": two tokens, once, to the key that asked
    }

    [Fact]
    public async Task EndpointDown_PostsAreStoredWithoutVectors_ThenEmbeddedOnceItIsBack()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var down = true;
        server.Answer = _ => Volatile.Read(ref down) ? (503, null) : null;
        var dir = TestPaths.NewTempDir();
        var replay = ReplayFile.Write(dir, Enumerable.Range(0, 8).Select(i => ReplayFile.Post($"p{i}", $"wildfire smoke over the valley {i}", 5 + i)));
        await using var host = new StreamIngestHost(Path.Combine(dir, "data"), replay, new Dictionary<string, string?>
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:OpenAI:Endpoint"] = server.Endpoint,
            ["Embedding:OpenAI:ApiKey"] = "sk-local-test",
            ["Embedding:OpenAI:Dimensions"] = "32",
            ["Embedding:OpenAI:MaxRetries"] = "0",
            ["Embedding:ReembedSeconds"] = "0.2",
        });

        var whileDown = await host.WaitForStatsAsync(s => s.GetProperty("stored").GetInt64() >= 8 && s.GetProperty("queue").GetInt64() == 0);
        using var client = host.CreateClient();
        var keyword = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=wildfire&mode=keyword&k=20");
        Volatile.Write(ref down, false);
        var after = await host.WaitForStatsAsync(s => s.GetProperty("searchable").GetInt64() == 8, TimeSpan.FromSeconds(30)); // all 8 in the vector index
        var vector = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=wildfire%20smoke&mode=vector&k=20");

        Assert.Equal(8, whileDown.GetProperty("embedding").GetProperty("stored_without_vector").GetInt64());
        Assert.Equal(0, whileDown.GetProperty("searchable").GetInt64());
        Assert.Equal(8, PostsIn(vector));
        Assert.Equal(8, PostsIn(keyword)); // stored, and found by keyword while the endpoint was down
        Assert.Equal(8, after.GetProperty("stored_posts").GetInt64()); // written again, never twice
        Assert.Empty(await client.GetFromJsonAsync<JsonElement[]>("/v1/deadletters") ?? []);
    }

    [Fact]
    public async Task RestartMidBatch_LosesNoPost_AndEmbedsNoPostTwice()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        server.Hold = n => n == 3; // the third batch's request never comes back before the host stops
        var dir = TestPaths.NewTempDir();
        var texts = Enumerable.Range(0, 14).Select(i => $"levee breach downstream of lock {i}, evacuations ordered").ToArray();
        var replay = ReplayFile.Write(dir, texts.Select((t, i) => ReplayFile.Post($"p{i}", t, 5 + i)));
        var settings = new Dictionary<string, string?>
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:OpenAI:Endpoint"] = server.Endpoint,
            ["Embedding:OpenAI:ApiKey"] = "sk-local-test",
            ["Embedding:OpenAI:Dimensions"] = "16",
            ["Embedding:OpenAI:BatchSize"] = "5",
            ["MaxBatch"] = "5",
        };

        var answeredBefore = 0;
        await using (var first = new StreamIngestHost(Path.Combine(dir, "data"), replay, settings))
        {
            _ = first.Server; // start it
            await server.Holding.Task.WaitAsync(TimeSpan.FromSeconds(60));
            answeredBefore = server.Answered.Count; // batches are handled one at a time: the two answered ones are stored
            var before = await first.WaitForStatsAsync(s => s.GetProperty("stored_posts").GetInt64() == answeredBefore);
            Assert.Equal(0, before.GetProperty("embedding").GetProperty("reused_on_redelivery").GetInt64());
        } // stopped with the third batch in flight: neither stored nor its cursor moved

        // The replay has no cursor, so the second run delivers all 14 again: some stored, the rest never answered.
        await using var second = new StreamIngestHost(Path.Combine(dir, "data"), replay, settings);
        var stats = await second.WaitForStatsAsync(s => s.GetProperty("processed").GetInt64() >= 14 && s.GetProperty("queue").GetInt64() == 0);
        var embedded = server.Answered.ToArray(); // before a search's question is embedded too
        using var client = second.CreateClient();
        var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=levee%20breach&mode=vector&k=50&collapse=false");

        Assert.Equal(14, stats.GetProperty("stored_posts").GetInt64());
        Assert.Equal(14, stats.GetProperty("searchable").GetInt64());
        Assert.InRange(answeredBefore, 2, 10);
        Assert.Equal(answeredBefore, stats.GetProperty("embedding").GetProperty("reused_on_redelivery").GetInt64());
        Assert.Equal(texts.Order(), embedded.Order()); // each post embedded (and paid for) exactly once
        Assert.Equal(14, search.GetProperty("results").GetArrayLength());
        Assert.Empty(await client.GetFromJsonAsync<JsonElement[]>("/v1/deadletters") ?? []);
    }

    /// <summary>Posts a search answered with: near-duplicates fold into one result that counts them.</summary>
    private static int PostsIn(JsonElement search) =>
        search.GetProperty("results").EnumerateArray().Sum(r => 1 + (r.TryGetProperty("duplicates", out var d) ? d.GetInt32() : 0));

    [Fact]
    public async Task EndpointMissing_StopsTheHostAtStart_NamingTheKey()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration["Embedding:OpenAI:Dimensions"] = "5000";
        StreamIngest.OpenAI.Embed.OpenAiEmbedderRegistration.AddOpenAiEmbedder(builder);
        using var app = builder.Build();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Embedding:OpenAI:Endpoint must be", error.Message, StringComparison.Ordinal);
        Assert.Contains("Embedding:OpenAI:Dimensions", error.Message, StringComparison.Ordinal);
    }
}
