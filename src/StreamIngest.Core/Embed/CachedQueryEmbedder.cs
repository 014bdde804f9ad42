using System.Collections.Concurrent;

namespace StreamIngest.Embed;

/// <summary>
/// Remembers the vectors of recent search queries: dashboards, standing queries and agents ask the same questions
/// again and again, and embedding a query is most of a hybrid search's cost. Posts (<see cref="EmbedAsync"/>) pass
/// straight through. Concurrent requests for one query share one embedding; a failed one is not remembered.
/// Bounded: past <c>capacity</c> entries, the oldest are forgotten first.
/// </summary>
public sealed class CachedQueryEmbedder(IEmbedder inner, int capacity = 4096) : IEmbedder
{
    private readonly ConcurrentDictionary<string, Lazy<Task<float[]>>> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private long _hits;
    private long _misses;

    public string Model => inner.Model;

    public int Dimensions => inner.Dimensions;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
        inner.EmbedAsync(texts, cancellationToken);

    public async Task<float[]> EmbedQueryAsync(string query, CancellationToken cancellationToken)
    {
        var created = false;
        var entry = _entries.GetOrAdd(query, q =>
        {
            created = true;
            // Not tied to one caller's cancellation: others may be waiting for the same vector.
            return new Lazy<Task<float[]>>(() => inner.EmbedQueryAsync(q, CancellationToken.None));
        });
        if (created)
        {
            Interlocked.Increment(ref _misses);
            _order.Enqueue(query);
            while (_entries.Count > capacity && _order.TryDequeue(out var oldest))
            {
                _entries.TryRemove(oldest, out _);
            }
        }
        else
        {
            Interlocked.Increment(ref _hits);
        }

        try
        {
            return await entry.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (entry.Value.IsFaulted)
        {
            _entries.TryRemove(new KeyValuePair<string, Lazy<Task<float[]>>>(query, entry));
            throw;
        }
    }
}
