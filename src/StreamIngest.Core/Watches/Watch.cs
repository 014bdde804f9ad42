using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Watches;

/// <summary>
/// A standing query: new posts whose embedding is at least <see cref="MinScore"/> similar to the query's (cosine)
/// and that pass the filters are recorded as events, pushed over server-sent events and, when
/// <see cref="WebhookUrl"/> is set, to a webhook.
/// </summary>
public sealed record Watch
{
    public required string Id { get; init; }
    public required string Query { get; init; }
    public required float[] Vector { get; init; }
    public double MinScore { get; init; } = DefaultMinScore;
    public string? Source { get; init; }
    public string? Lang { get; init; }
    public EntityFilter? Entity { get; init; }
    public PostFilter Filter { get; init; } = PostFilter.None;
    public Uri? WebhookUrl { get; init; }

    /// <summary>HMAC-SHA256 key for the webhook's signature header; never returned by the API.</summary>
    public string? WebhookSecret { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Cosine a post needs by default: a post on the query's topic (MiniLM) rather than one sharing a word.</summary>
    public const double DefaultMinScore = 0.45;

    /// <summary>Whether <paramref name="post"/> passes the watch's filters (the similarity is checked apart).</summary>
    public bool Accepts(Post post)
    {
        if (Source is not null && !string.Equals(post.Source, Source, StringComparison.Ordinal))
        {
            return false;
        }

        if (Lang is not null && !string.Equals(post.Lang, Lang, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (Entity is not null)
        {
            var values = Entity.Kind switch
            {
                EntityKind.Hashtag => post.Entities.Hashtags,
                EntityKind.Cashtag => post.Entities.Cashtags,
                _ => post.Entities.Mentions,
            };
            if (!values.Contains(Entity.Value, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return Filter.IsEmpty || Filter.Accepts(post);
    }
}

/// <summary>One post that matched one watch; <see cref="Seq"/> orders a watch's events and is the SSE event id.</summary>
public sealed record WatchEvent(long Seq, string WatchId, string PostId, double Score, DateTimeOffset At);

/// <summary>One webhook delivery attempt, as the delivery log keeps it.</summary>
public sealed record WatchDelivery(string WatchId, long Seq, int Attempt, int? Status, string Outcome, DateTimeOffset At);

/// <summary>Watches, their events and webhook delivery state, in the store so they survive restarts.</summary>
public interface IWatchStore
{
    Task AddAsync(Watch watch, CancellationToken cancellationToken);

    Task<IReadOnlyList<Watch>> ListAsync(CancellationToken cancellationToken);

    /// <summary>One watch by id (a point read), or null.</summary>
    Task<Watch?> GetAsync(string id, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>Records matches; a (watch, post) pair already recorded is not recorded again (redelivered batches).</summary>
    Task<int> AppendEventsAsync(IReadOnlyList<(string WatchId, string PostId, double Score)> matches, DateTimeOffset at, CancellationToken cancellationToken);

    Task<IReadOnlyList<WatchEvent>> ReadEventsAsync(string watchId, long after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The sequence of the watch's newest event, or <see cref="long.MaxValue"/> when the store cannot tell more cheaply
    /// than <see cref="ReadEventsAsync"/> can. A deliverer with nothing newer than its position skips the read.
    /// </summary>
    Task<long> GetLastEventSeqAsync(string watchId, CancellationToken cancellationToken) => Task.FromResult(long.MaxValue);

    /// <summary>The last event sequence the webhook has finished with (delivered or dead-lettered).</summary>
    Task<long> GetDeliveredAsync(string watchId, CancellationToken cancellationToken);

    Task SetDeliveredAsync(string watchId, long seq, CancellationToken cancellationToken);

    Task LogDeliveryAsync(WatchDelivery delivery, CancellationToken cancellationToken);

    Task<IReadOnlyList<WatchDelivery>> ListDeliveriesAsync(string watchId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the watch's webhook deliveries for <paramref name="owner"/> until <paramref name="until"/>: true when no
    /// other owner holds an unexpired claim (the owner's own claim is renewed). Replicas sharing a store deliver each
    /// watch from one of them at a time.
    /// </summary>
    Task<bool> TryLeaseDeliveryAsync(string watchId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken);
}
