using System.Text.Json;
using Microsoft.Data.Sqlite;
using StreamIngest.Model;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>Reads a post's stored JSON document from a query's column.</summary>
internal static class PostDocuments
{
    /// <summary>
    /// The post in a TEXT column, parsed from the UTF-8 bytes SQLite stores (read as a blob, the bytes come back as
    /// they are) rather than through a UTF-16 string the parser transcodes back (<c>bench query --posts 28000</c>,
    /// two alternating runs: hybrid p50 1.10 / 1.16 → 1.00 / 1.09 ms, 327 → 297 KiB allocated a query).
    /// </summary>
    public static Post ReadPost(this SqliteDataReader reader, int ordinal) =>
        PostJson.Deserialize(reader.GetFieldValue<byte[]>(ordinal));

    /// <summary>
    /// What ranking reads of a post (id, times, engagement, duplicate keys), parsed from its document without
    /// materialising the rest (text, entities, labels): a search ranks every candidate of both lists but returns only
    /// its top k, whose documents are then parsed whole (<see cref="PostJson.Deserialize(ReadOnlySpan{byte})"/>).
    /// The text of the post this returns is empty.
    /// </summary>
    public static Post ParseForRanking(ReadOnlySpan<byte> utf8Json)
    {
        var f = JsonSerializer.Deserialize<RankingFields>(utf8Json, PostJson.Options) ?? throw new JsonException("post document is null");
        return new Post
        {
            Id = f.Id,
            Source = f.Source,
            NativeId = f.NativeId,
            CreatedAt = f.CreatedAt,
            Text = string.Empty,
            Provenance = f.Provenance,
            Metrics = f.Metrics,
            ContentHash = f.ContentHash,
            ClusterId = f.ClusterId,
        };
    }

    /// <summary>The fields of <see cref="Post"/> that <c>HybridRanker</c> reads (and the ones a post requires).</summary>
    private sealed record RankingFields(
        string Id, string Source, string NativeId, DateTimeOffset CreatedAt, Provenance Provenance, Engagement? Metrics, string? ContentHash, string? ClusterId);
}
