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
    private readonly string? _cursorKey;
    private readonly string? _partitionKey;

    /// <summary>The platform the event came from (the post's source; for deletes and likes, the id's prefix).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Source => Post?.Source ?? SourceOf(PostId);

    /// <summary>
    /// The key <see cref="Cursor"/> is stored under once the event is durable: the source unless the feed names
    /// another (a feed that reads several streams of one platform keeps one cursor per stream).
    /// </summary>
    public string CursorKey
    {
        get => _cursorKey ?? Source;
        init => _cursorKey = value;
    }

    /// <summary>
    /// What keeps related events in order on a partitioned transport: a Bluesky post's create, likes and delete
    /// share the author's DID; any other event its post id.
    /// </summary>
    public string PartitionKey
    {
        get => _partitionKey ?? DefaultPartitionKey(PostId);
        init => _partitionKey = value;
    }

    /// <summary>
    /// Where the transport delivered this event from (an Event Hubs partition and sequence number); null on the
    /// in-process channel. Engagement uses it to count a redelivered like once.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TransportPosition? Position { get; init; }

    public static FeedEvent Engage(string postId, Engagement delta, string? cursor = null) => new(FeedEventKind.Engage, postId, null, cursor, delta);

    public static FeedEvent Upsert(Post post, string? cursor = null) => new(FeedEventKind.Upsert, post.Id, post, cursor);

    public static FeedEvent Delete(string postId, string? cursor = null) => new(FeedEventKind.Delete, postId, null, cursor);

    private static string SourceOf(string postId)
    {
        var colon = postId.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? postId[..colon] : postId;
    }

    private static string DefaultPartitionKey(string postId) =>
        postId.StartsWith("bsky:", StringComparison.Ordinal) && postId.IndexOf('/', StringComparison.Ordinal) is var slash and > 5
            ? postId[5..slash] // bsky:did:plc:xyz/rkey → did:plc:xyz
            : postId;
}
