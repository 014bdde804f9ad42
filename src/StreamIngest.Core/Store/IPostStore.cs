using StreamIngest.Model;

namespace StreamIngest.Store;

/// <summary>
/// The store port (write side). Upserts are idempotent by <see cref="Post.Id"/>: writing the same post
/// twice leaves one copy. When a call returns, its posts are durable and searchable.
/// </summary>
public interface IPostStore
{
    Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken);

    Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken);

    /// <summary>Adds engagement deltas to stored posts (posts not stored are skipped); returns how many were updated.</summary>
    Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken);

    /// <summary>
    /// Adds engagement events, each with its position on the transport when it has one. A store that keeps, per post,
    /// the last position applied from each stream (Cosmos DB) applies every positioned event once, however often and
    /// in whatever batches it is delivered; the default adds them all, as <see cref="AddEngagementAsync(IReadOnlyDictionary{string, Engagement}, CancellationToken)"/>.
    /// </summary>
    Task<int> AddEngagementAsync(IReadOnlyDictionary<string, IReadOnlyList<EngagementEvent>> events, CancellationToken cancellationToken) =>
        AddEngagementAsync(events.ToDictionary(kv => kv.Key, kv => EngagementEvent.Sum(kv.Value), StringComparer.Ordinal), cancellationToken);

    Task<Post?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Embeddings already stored for these content hashes (exact duplicates need no second embedding).</summary>
    Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(
        IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken);

    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>Removes posts created before <paramref name="cutoff"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>
    /// Posts stored without a vector because embedding them failed (not duplicates, which share their original's),
    /// oldest first, for the re-embedding sweep. A store that cannot tell returns none.
    /// </summary>
    Task<IReadOnlyList<Post>> ListUnembeddedAsync(int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Post>>([]);

    /// <summary>Stores the vectors of posts already stored (each post carries its new <see cref="Post.Embedding"/>); by default an upsert.</summary>
    Task SetEmbeddingsAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken) => UpsertAsync(posts, cancellationToken);
}

/// <summary>Where rejected input goes, with its reason.</summary>
public interface IDeadLetterStore
{
    Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken);
}

/// <summary>Durable per-source positions (Jetstream time_us, X since_id…), advanced only after the write succeeded.</summary>
public interface ICursorStore
{
    Task<string?> GetAsync(string source, CancellationToken cancellationToken);

    Task SetAsync(string source, string cursor, CancellationToken cancellationToken);
}
