using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using StreamIngest.Model;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// A post as stored in Cosmos DB: filterable fields at the top (indexed), the whole post under
/// <c>post</c> (excluded from the range index), the embedding under <c>embedding</c> (vector index only).
/// </summary>
public sealed class CosmosPostDocument
{
    /// <summary>Cosmos ids may not contain '/', '\', '?' or '#': those are escaped; <see cref="PostId"/> keeps the original.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("pk")]
    public required string PartitionKey { get; init; }

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

    /// <summary>Entities for filters: "h:flood", "c:TSLA", "m:alice".</summary>
    [JsonPropertyName("tags")]
    public IReadOnlyList<string> Tags { get; init; } = [];

    [JsonPropertyName("embedding")]
    public float[]? Embedding { get; init; }

    [JsonPropertyName("post")]
    public required Post Post { get; init; }

    public static string EscapeId(string postId) =>
        postId.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal)
            .Replace("\\", "%5C", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal);

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

    public static IReadOnlyList<string> TagsOf(PostEntities e) =>
        [.. e.Hashtags.Select(h => "h:" + h), .. e.Cashtags.Select(c => "c:" + c), .. e.Mentions.Select(m => "m:" + m)];

    public static CosmosPostDocument From(Post post, int buckets) => new()
    {
        Id = EscapeId(post.Id),
        PartitionKey = PartitionKeyFor(post.Id, buckets),
        PostId = post.Id,
        Source = post.Source,
        CreatedAtMs = post.CreatedAt.ToUnixTimeMilliseconds(),
        Lang = post.Lang,
        Text = post.Text,
        ContentHash = post.ContentHash,
        Engagement = post.Metrics?.Total ?? 0,
        Tags = TagsOf(post.Entities),
        Embedding = post.Embedding,
        Post = post,
    };
}
