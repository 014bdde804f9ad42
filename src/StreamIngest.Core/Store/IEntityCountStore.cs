namespace StreamIngest.Store;

/// <summary>Posts mentioning one entity in one time bucket, with the sum of their sentiment scores.</summary>
public sealed record EntityCount(string Entity, DateTimeOffset Bucket, long Posts, double SentimentSum, long SentimentPosts);

/// <summary>
/// Counts of posts per entity (<c>#hashtag</c>, <c>$CASHTAG</c>, <c>@mention</c>, <c>domain:host</c>) per time bucket, kept in the store
/// so bursts survive restarts and every role reads the same. Adding is one upsert per entity and bucket of a batch.
/// </summary>
public interface IEntityCountStore
{
    Task AddAsync(IReadOnlyList<EntityCount> counts, CancellationToken cancellationToken);

    Task<IReadOnlyList<EntityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Forgets buckets older than <paramref name="cutoff"/> (bounded storage).</summary>
    Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}
