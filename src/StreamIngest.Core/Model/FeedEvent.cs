namespace StreamIngest.Model;

public enum FeedEventKind
{
    Upsert,
    Delete,
}

/// <summary>
/// What a feed hands to the transport: a post to upsert or a post id to delete.
/// <see cref="Cursor"/> is the source position to persist once the event is durably stored.
/// </summary>
public sealed record FeedEvent(FeedEventKind Kind, string PostId, Post? Post, string? Cursor = null)
{
    public static FeedEvent Upsert(Post post, string? cursor = null) => new(FeedEventKind.Upsert, post.Id, post, cursor);

    public static FeedEvent Delete(string postId, string? cursor = null) => new(FeedEventKind.Delete, postId, null, cursor);
}
