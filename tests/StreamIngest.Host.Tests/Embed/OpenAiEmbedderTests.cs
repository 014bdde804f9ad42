using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.OpenAI.Embed;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Embed;

/// <summary>
/// The remote embedder through the official OpenAI .NET client (under Microsoft.Extensions.AI) against a local
/// OpenAI-compatible <c>/v1/embeddings</c> server on 127.0.0.1: deterministic vectors per input, and 429s with
/// <c>Retry-After</c>, 500s or wrong lengths when a test asks for them.
/// </summary>
public sealed class OpenAiEmbedderTests
{
    private static OpenAiEmbeddingOptions Options(string endpoint) => new()
    {
        Endpoint = endpoint, ApiKey = "sk-test", Model = "text-embedding-3-small", Dimensions = 8, BatchSize = 3, Concurrency = 2, MaxRetries = 3,
    };

    private static OpenAiEmbedder Embedder(OpenAiEmbeddingOptions o, TimeProvider? time = null) =>
        new(OpenAiEmbedderRegistration.CreateGenerator(o), o, time ?? TimeProvider.System, new TestMeterFactory());

    [Fact]
    public async Task Posts_AreSentInBatches_InOrder_AsUnitVectorsOfTheConfiguredLength()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var embedder = Embedder(Options(server.Endpoint));
        string[] texts = ["flood on main street", "river rising", "$NVDA beats", "bridge closed", "shelter open", "power out", "all clear"];

        var vectors = await embedder.EmbedAsync(texts, CancellationToken.None);

        Assert.Equal([3, 3, 1], server.Requests.Select(r => r.Length).Order().Reverse());
        Assert.Equal(texts.Order(), server.Requests.SelectMany(r => r).Order());
        Assert.All(server.AskedDimensions, d => Assert.Equal(8, d));
        for (var i = 0; i < texts.Length; i++)
        {
            var expected = EmbeddingsServer.VectorFor(texts[i], 8);
            var norm = MathF.Sqrt(expected.Sum(x => x * x));
            Assert.Equal(expected.Select(x => x / norm), vectors[i], (a, b) => Math.Abs(a - b) < 1e-5);
        }

        Assert.Equal("openai:text-embedding-3-small@8", embedder.Model);
    }

    [Fact]
    public async Task Throttled_WaitsWhatRetryAfterAsks_OnTheClock_ThenSucceeds()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        server.Answer = n => n == 1 ? (429, "7") : null;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var embedder = Embedder(Options(server.Endpoint), time);

        var pending = embedder.EmbedAsync(["one post"], CancellationToken.None);
        await Eventually.UntilAsync(() => embedder.Retries == 1, TimeSpan.FromSeconds(10), "the 429 to be seen and a retry planned");
        var advanced = TimeSpan.Zero;
        await Eventually.UntilAsync(
            () =>
            {
                if (server.Requests.Count >= 2)
                {
                    return true;
                }

                time.Advance(TimeSpan.FromMilliseconds(250)); // the clock moves only here, a quarter second per look
                advanced += TimeSpan.FromMilliseconds(250);
                return false;
            },
            TimeSpan.FromSeconds(20),
            "the retry after Retry-After");
        var vectors = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.InRange(advanced.TotalSeconds, 7, 7.5); // what Retry-After asked, not the 1 s default backoff
        Assert.Equal(2, server.Requests.Count);
        Assert.Single(vectors);
        Assert.Equal(1, embedder.Retries);
    }

    [Fact]
    public async Task ServerErrors_BeyondTheRetries_Fail()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        server.Answer = _ => (500, null);
        var o = Options(server.Endpoint);
        o.MaxRetries = 2;
        o.MaxRetryDelaySeconds = 0.1;

        await Assert.ThrowsAnyAsync<Exception>(() => Embedder(o).EmbedAsync(["post"], CancellationToken.None));

        Assert.Equal(3, server.Requests.Count); // the first try and two retries, no more
    }

    [Fact]
    public async Task WrongLength_FromTheEndpoint_IsRefusedNamingTheKey_WithoutRetrying()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        server.ReturnedDimensions = 1536;

        var error = await Assert.ThrowsAsync<EmbeddingDimensionException>(() => Embedder(Options(server.Endpoint)).EmbedAsync(["post"], CancellationToken.None));

        Assert.Contains("Embedding:OpenAI:Dimensions is 8", error.Message, StringComparison.Ordinal);
        Assert.Contains("1536", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Tokens_AndCost_AreCountedForPostsAndQueriesApart()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var o = Options(server.Endpoint);
        o.PricePerMillionTokens = 100_000; // 0.1 USD per token: visible in a test
        var embedder = Embedder(o);

        await embedder.EmbedAsync(["three word post", "two words"], CancellationToken.None);
        await embedder.EmbedQueryAsync("what happened here", CancellationToken.None);

        Assert.Equal(5, embedder.PostTokens);
        Assert.Equal(3, embedder.QueryTokens);
        Assert.Equal(0.8, embedder.CostUsd, 6);
    }

    [Fact]
    public async Task OverLongInput_IsCutToTheTokenLimit_AndCounted()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var o = Options(server.Endpoint);
        o.MaxInputTokens = 16;
        var embedder = Embedder(o);
        var longText = string.Join(' ', Enumerable.Repeat("flood", 200));

        await embedder.EmbedAsync([longText, "short"], CancellationToken.None);
        var sent = server.Requests.Single();

        Assert.True(sent[0].Length < longText.Length / 5, $"sent {sent[0].Length} characters");
        Assert.StartsWith(sent[0], longText, StringComparison.Ordinal);
        Assert.Equal("short", sent[1]);
        Assert.Equal(1, embedder.TruncatedInputs);
    }

    [Fact]
    public async Task CjkText_ShorterInCharactersThanTheLimit_IsStillCutByItsTokens()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var text = string.Concat(Enumerable.Repeat("鬱蒼とした森で鬱憤を晴らす。", 40));
        var tokens = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("cl100k_base").CountTokens(text);
        Assert.True(tokens > text.Length, $"{tokens} tokens for {text.Length} characters"); // what the test is about
        var o = Options(server.Endpoint);
        o.MaxInputTokens = text.Length + 1; // more than its characters, fewer than its tokens
        var embedder = Embedder(o);

        await embedder.EmbedAsync([text], CancellationToken.None);

        Assert.Equal(1, embedder.TruncatedInputs);
        Assert.True(server.Requests.Single()[0].Length < text.Length);
    }

    [Theory]
    [InlineData(null, 384, "Embedding:OpenAI:Endpoint")]
    [InlineData("http://127.0.0.1:1/v1", 2000, "at most 1536")]
    public void BadConfiguration_NamesTheKey(string? endpoint, int dimensions, string expected)
    {
        var errors = new OpenAiEmbeddingOptions { Endpoint = endpoint, Dimensions = dimensions }.Validate();

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
