using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// A post as stored in Cosmos DB: filterable fields at the top (indexed), the whole post under
/// <c>post</c> (excluded from the range index), the embedding under <c>embedding</c> (vector index only).
/// </summary>
public sealed class CosmosPostDocument
{
    /// <summary><see cref="DocumentId"/> of the post id: only [A-Za-z0-9_-], so no request path ever needs escaping.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("pk")]
    public required string PartitionKey { get; init; }

    /// <summary>The post's own id (<c>source:nativeId</c>).</summary>
    [JsonPropertyName("postId")]
    public required string PostId { get; init; }

    [JsonPropertyName("source")]
    public required string Source { get; init; }

    [JsonPropertyName("createdAtMs")]
    public long CreatedAtMs { get; init; }

    [JsonPropertyName("lang")]
    public string? Lang { get; init; }

    [JsonPropertyName("text")]
    public required string Text { get; init; }

    [JsonPropertyName("contentHash")]
    public string? ContentHash { get; init; }

    [JsonPropertyName("engagement")]
    public long Engagement { get; init; }

    /// <summary>
    /// Per transport stream (<c>eventhubs/3</c>), the sequence number of the last engagement event applied to this
    /// post: a redelivered like at or below it is already counted.
    /// </summary>
    [JsonPropertyName("engagementSeen")]
    public Dictionary<string, long>? EngagementSeen { get; init; }

    /// <summary>Entities for filters: "h:flood", "c:TSLA", "m:alice".</summary>
    [JsonPropertyName("tags")]
    public IReadOnlyList<string> Tags { get; init; } = [];

    [JsonPropertyName("embedding")]
    public float[]? Embedding { get; init; }

    /// <summary>
    /// Seconds to live from this write. Cosmos DB counts TTL from the item's last write (<c>_ts</c>)
    /// (https://learn.microsoft.com/azure/cosmos-db/nosql/time-to-live), so every write sets what is left of the
    /// post's retention counted from <c>created_at</c>, the same rule as the embedded store's purge. Null: the container default.
    /// </summary>
    [JsonPropertyName("ttl")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Ttl { get; init; }

    [JsonPropertyName("post")]
    public required Post Post { get; init; }

    /// <summary>
    /// The Cosmos item id for a post id: base64url of its SHA-256 (43 characters). Bluesky ids contain '/', and
    /// percent-escaped ids fail point operations in Gateway mode (Azure/azure-cosmos-dotnet-v3#4954), so ids
    /// use an alphabet that never needs escaping; <see cref="PostId"/> keeps the original.
    /// </summary>
    public static string DocumentId(string postId) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(postId)));

    /// <summary>
    /// Partition key from the id alone (deletes carry nothing else): the source plus a stable hash bucket,
    /// so writes for "now" spread over many logical partitions instead of one hot one.
    /// </summary>
    public static string PartitionKeyFor(string postId, int buckets)
    {
        var colon = postId.IndexOf(':', StringComparison.Ordinal);
        var source = colon > 0 ? postId[..colon] : "unknown";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(postId));
        var bucket = (int)(BitConverter.ToUInt32(hash, 0) % (uint)buckets);
        return $"{source}-{bucket:D2}";
    }

    /// <summary>What is left of <paramref name="retention"/> for a post created at <paramref name="createdAtMs"/>, in whole seconds (at least 1); null when retention is off.</summary>
    public static int? TtlFor(long createdAtMs, TimeSpan retention, DateTimeOffset now)
    {
        if (retention <= TimeSpan.Zero)
        {
            return null;
        }

        var left = retention - (now - DateTimeOffset.FromUnixTimeMilliseconds(createdAtMs));
        return (int)Math.Clamp(Math.Ceiling(left.TotalSeconds), 1, int.MaxValue);
    }

    public static IReadOnlyList<string> TagsOf(PostEntities e) =>
        [.. e.Hashtags.Select(h => TagOf(EntityKind.Hashtag, h)), .. e.Cashtags.Select(c => TagOf(EntityKind.Cashtag, c)), .. e.Mentions.Select(m => TagOf(EntityKind.Mention, m))];

    /// <summary>An entity as it stands in <see cref="Tags"/>: "h:flood", "c:TSLA", "m:alice" (what entity filters match).</summary>
    public static string TagOf(EntityKind kind, string value) => $"{kind switch { EntityKind.Hashtag => "h", EntityKind.Cashtag => "c", _ => "m" }}:{value}";

    public static CosmosPostDocument From(Post post, int buckets, TimeSpan retention, DateTimeOffset now)
    {
        // Always a metrics object, so engagement patches of /post/metrics have a parent to write into.
        post.Metrics ??= new Engagement();
        return new()
        {
            Id = DocumentId(post.Id),
            PartitionKey = PartitionKeyFor(post.Id, buckets),
            PostId = post.Id,
            Source = post.Source,
            CreatedAtMs = post.CreatedAt.ToUnixTimeMilliseconds(),
            Lang = post.Lang,
            Text = post.Text,
            ContentHash = post.ContentHash,
            Engagement = post.Metrics.Total,
            Tags = TagsOf(post.Entities),
            Embedding = post.Embedding,
            Ttl = TtlFor(post.CreatedAt.ToUnixTimeMilliseconds(), retention, now),
            Post = post,
        };
    }
}
