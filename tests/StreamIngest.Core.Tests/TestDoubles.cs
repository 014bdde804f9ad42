using System.Collections.Concurrent;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Core.Tests;

/// <summary>
/// A store held in a dictionary, to test the pipeline's orchestration in isolation
/// (the SQLite store has its own tests against a real file).
/// </summary>
internal sealed class DictionaryStore : IPostStore, ICursorStore
{
    public ConcurrentDictionary<string, Post> Posts { get; } = new();

    public ConcurrentDictionary<string, string> Cursors { get; } = new();

    public int Writes { get; private set; }

    public Func<int, Exception?> FailWrite { get; set; } = _ => null;

    public Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
    {
        if (FailWrite(++Writes) is { } ex)
        {
            throw ex;
        }

        foreach (var p in posts)
        {
            Posts[p.Id] = p;
        }

        return Task.CompletedTask;
    }

    public Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Task.FromResult(ids.Count(id => Posts.TryRemove(id, out _)));

    public Task<Post?> GetAsync(string id, CancellationToken cancellationToken) => Task.FromResult(Posts.GetValueOrDefault(id));

    public Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken)
    {
        var n = 0;
        foreach (var (id, d) in deltas)
        {
            if (Posts.TryGetValue(id, out var p))
            {
                var m = p.Metrics ?? new Engagement();
                p.Metrics = new Engagement(m.Likes + d.Likes, m.Reposts + d.Reposts, m.Replies + d.Replies, m.Quotes + d.Quotes);
                n++;
            }
        }

        return Task.FromResult(n);
    }

    public Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, (string, float[])>>(Posts.Values
            .Where(p => p.ContentHash is not null && contentHashes.Contains(p.ContentHash) && p.Embedding is not null && p.DuplicateOf is null)
            .GroupBy(p => p.ContentHash!)
            .ToDictionary(g => g.Key, g => (g.First().Id, g.First().Embedding!)));

    public Task<long> CountAsync(CancellationToken cancellationToken) => Task.FromResult((long)Posts.Count);

    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Task.FromResult(Posts.Values.Where(p => p.CreatedAt < cutoff).Count(p => Posts.TryRemove(p.Id, out _)));

    Task<string?> ICursorStore.GetAsync(string source, CancellationToken cancellationToken) => Task.FromResult(Cursors.GetValueOrDefault(source));

    public Task SetAsync(string source, string cursor, CancellationToken cancellationToken)
    {
        Cursors[source] = cursor;
        return Task.CompletedTask;
    }
}

/// <summary>Deterministic 8-d "embedding" from character counts, and a record of what it was asked to embed.</summary>
internal sealed class CountingEmbedder : IEmbedder
{
    public List<string> Embedded { get; } = [];

    /// <summary>When set, every call fails with it (an endpoint that gave up after its retries).</summary>
    public Exception? FailWith { get; set; }

    public string Model => "counting";

    public int Dimensions => 8;

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        if (FailWith is { } failure)
        {
            return Task.FromException<float[][]>(failure);
        }

        Embedded.AddRange(texts);
        return Task.FromResult(texts.Select(t =>
        {
            var v = new float[8];
            foreach (var c in t)
            {
                v[c % 8] += 1;
            }

            return v;
        }).ToArray());
    }
}
