using StreamIngest.Embed;

namespace StreamIngest.Core.Tests.Embed;

public class CachedQueryEmbedderTests
{
    [Fact]
    public async Task EmbedQuery_SameQueryTwice_EmbedsItOnce()
    {
        var inner = new CountingEmbedder();
        var cache = new CachedQueryEmbedder(inner);

        var first = await cache.EmbedQueryAsync("flood damage", CancellationToken.None);
        var second = await cache.EmbedQueryAsync("flood damage", CancellationToken.None);

        Assert.Equal(["flood damage"], inner.Embedded);
        Assert.Equal(first, second);
        Assert.Equal((1, 1), (cache.Hits, cache.Misses));
    }

    [Fact]
    public async Task EmbedPosts_AlwaysReachTheModel()
    {
        var inner = new CountingEmbedder();
        var cache = new CachedQueryEmbedder(inner);

        await cache.EmbedAsync(["a post"], CancellationToken.None);
        await cache.EmbedAsync(["a post"], CancellationToken.None);

        Assert.Equal(["a post", "a post"], inner.Embedded);
    }

    [Fact]
    public async Task EmbedQuery_PastCapacity_ForgetsTheOldestFirst()
    {
        var inner = new CountingEmbedder();
        var cache = new CachedQueryEmbedder(inner, capacity: 2);

        foreach (var q in new[] { "one", "two", "three", "three", "one" })
        {
            await cache.EmbedQueryAsync(q, CancellationToken.None);
        }

        Assert.Equal(["one", "two", "three", "one"], inner.Embedded); // "one" was forgotten when "three" came in
    }

    [Fact]
    public async Task EmbedQuery_ConcurrentCallers_ShareOneEmbedding()
    {
        var release = new TaskCompletionSource();
        var inner = new GatedEmbedder(release.Task);
        var cache = new CachedQueryEmbedder(inner);

        var callers = Enumerable.Range(0, 8).Select(_ => cache.EmbedQueryAsync("same question", CancellationToken.None)).ToArray();
        release.SetResult();
        var vectors = await Task.WhenAll(callers);

        Assert.Equal(1, inner.Calls);
        Assert.All(vectors, v => Assert.Same(vectors[0], v));
    }

    [Fact]
    public async Task EmbedQuery_Failure_IsNotRemembered()
    {
        var inner = new GatedEmbedder(Task.FromException(new InvalidOperationException("model not loaded")));
        var cache = new CachedQueryEmbedder(inner);

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.EmbedQueryAsync("q", CancellationToken.None));
        inner.Gate = Task.CompletedTask;
        var vector = await cache.EmbedQueryAsync("q", CancellationToken.None);

        Assert.Equal(2, inner.Calls);
        Assert.Single(vector);
    }

    private sealed class GatedEmbedder(Task gate) : IEmbedder
    {
        private int _calls;

        public Task Gate { get; set; } = gate;

        public int Calls => Volatile.Read(ref _calls);

        public string Model => "gated";

        public int Dimensions => 1;

        public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            await Gate;
            return [.. texts.Select(_ => new float[] { 1 })];
        }
    }
}
