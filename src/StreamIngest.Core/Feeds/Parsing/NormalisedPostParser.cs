using System.Text.Json;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Parsing;

/// <summary>
/// StreamIngest's own post JSONL (see docs/feeds.md, "Normalised post JSONL"): one post per line with at least
/// <c>source</c>, <c>id</c>, <c>text</c>, <c>created_at</c>; optional <c>author</c> (a handle or
/// <c>{handle, name, followers}</c>), <c>url</c>, <c>lang</c>, <c>metrics</c>, <c>reply_to</c>,
/// <c>quote_of</c>, <c>repost_of</c>, and <c>"deleted": true</c> to delete.
/// </summary>
public static class NormalisedPostParser
{
    public static bool Recognizes(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("source", out _) && root.TryGetProperty("id", out _);

    public static ParseOutcome Parse(JsonElement root, string rawSha256, ParseContext context)
    {
        var source = root.Str("source");
        var id = root.Str("id");
        if (string.IsNullOrWhiteSpace(source) || string.IsNullOrWhiteSpace(id))
        {
            return ParseOutcome.Rejected("normalised post needs non-empty 'source' and 'id'");
        }

        if (source.Contains(':', StringComparison.Ordinal) || source.Length > 32)
        {
            return ParseOutcome.Rejected("'source' must be a short name without ':'");
        }

        var postId = Post.MakeId(source, id);
        if (root.TryGetProperty("deleted", out var del) && del.ValueKind == JsonValueKind.True)
        {
            return new ParseOutcome([FeedEvent.Delete(postId, id)]);
        }

        var text = root.Str("text");
        if (text is null)
        {
            return ParseOutcome.Rejected("normalised post needs 'text'");
        }

        if (root.Time("created_at") is not { } created)
        {
            return ParseOutcome.Rejected("normalised post needs 'created_at' as an ISO-8601 time");
        }

        var author = Author.Unknown;
        if (root.TryGetProperty("author", out var a))
        {
            author = a.ValueKind switch
            {
                JsonValueKind.String => new Author(a.GetString()!),
                JsonValueKind.Object => new Author(a.Str("handle") ?? "unknown", a.Str("name"), a.Long("followers"), a.Str("id")),
                _ => Author.Unknown,
            };
        }

        Engagement? metrics = null;
        if (root.Obj("metrics") is { } m)
        {
            metrics = new Engagement(m.Long("likes") ?? 0, m.Long("reposts") ?? 0, m.Long("replies") ?? 0, m.Long("quotes") ?? 0);
        }

        string? Ref(string name) => root.Str(name) is { } r ? (r.Contains(':', StringComparison.Ordinal) ? r : Post.MakeId(source, r)) : null;

        var post = new Post
        {
            Id = postId,
            Source = source,
            NativeId = id,
            CreatedAt = created,
            Author = author,
            Text = text,
            Lang = root.Str("lang"),
            Url = root.Str("url"),
            Relations = new PostRelations(Ref("reply_to"), Ref("quote_of"), Ref("repost_of")),
            Metrics = metrics,
            Provenance = new Provenance(context.Adapter, context.Endpoint, context.FetchedAt, rawSha256),
        };
        return new ParseOutcome([FeedEvent.Upsert(post, id)]);
    }
}
