namespace StreamIngest.Model;

public enum FeedEventKind
{
    Upsert,
    Delete,

    /// <summary>Likes/reposts seen for a stored post: <see cref="FeedEvent.Engagement"/> is added to its counts.</summary>
    Engage,
}

/// <summary>
/// What a feed hands to the transport: a post to upsert or a post id to delete.
/// <see cref="Cursor"/> is the source position to persist once the event is durably stored.
/// </summary>
public sealed record FeedEvent(FeedEventKind Kind, string PostId, Post? Post, string? Cursor = null, Engagement? Engagement = null)
{
    public static FeedEvent Engage(string postId, Engagement delta, string? cursor = null) => new(FeedEventKind.Engage, postId, null, cursor, delta);

    public static FeedEvent Upsert(Post post, string? cursor = null) => new(FeedEventKind.Upsert, post.Id, post, cursor);

    public static FeedEvent Delete(string postId, string? cursor = null) => new(FeedEventKind.Delete, postId, null, cursor);
}
