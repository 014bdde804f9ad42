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
        await using var host = new StreamIngestHost(Path.Combine(dir, "data"), replay, new Dictionary<string, string?>
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:OpenAI:Endpoint"] = server.Endpoint,
            ["Embedding:OpenAI:ApiKey"] = "sk-local-test",
            ["Embedding:OpenAI:Dimensions"] = "64",
            ["Embedding:OpenAI:BatchSize"] = "5",
        });

        var stats = await host.WaitForStatsAsync(s => s.GetProperty("stored").GetInt64() >= 12 && s.GetProperty("queue").GetInt64() == 0);
        using var client = host.CreateClient();
        var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=river%20flooding&mode=vector&k=5");
        var embedding = stats.GetProperty("embedding");

        Assert.Equal("openai:text-embedding-3-small@64", embedding.GetProperty("model").GetString());
        Assert.True(embedding.GetProperty("post_tokens").GetInt64() >= 12 * 7, stats.ToString());
        Assert.True(embedding.GetProperty("cost_usd").GetDouble() > 0, stats.ToString());
        Assert.Equal(0, embedding.GetProperty("stored_without_vector").GetInt64());
        Assert.All(server.Requests, r => Assert.True(r.Length <= 5));
        Assert.Equal(5, search.GetProperty("results").GetArrayLength());
        Assert.Contains(server.AskedDimensions, d => d == 64);
    }

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
