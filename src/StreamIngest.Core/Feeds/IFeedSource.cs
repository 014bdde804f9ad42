using StreamIngest.Model;

namespace StreamIngest.Feeds;

/// <summary>
/// The feed port: a source of posts (replay file, Jetstream, X, Mastodon, RSS).
/// Implementations yield events until the source ends or <paramref name="cancellationToken"/> fires,
/// dead-letter what they cannot parse and never throw for bad input.
/// </summary>
public interface IFeedSource
{
    string Name { get; }

    IAsyncEnumerable<FeedEvent> ReadAsync(CancellationToken cancellationToken);
}
