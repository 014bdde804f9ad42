using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Store;

/// <summary>Reads stored posts by what they mention, for aggregates (mood per ticker, per hashtag).</summary>
public interface IPostReader
{
    /// <summary>Posts mentioning <paramref name="entity"/> created within [since, until], newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Post>> ListByEntityAsync(EntityFilter entity, DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken);

    /// <summary>Posts created within [since, until], newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Post>> ListRecentAsync(DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken);
}
