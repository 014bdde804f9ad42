using System.Text.Json;
using StreamIngest.Enrich;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Parsing;

/// <summary>
/// Mastodon Status entities (REST timelines, trends, and the payload of streaming <c>update</c> /
/// <c>status.update</c> events). Ids are scoped by instance host: <c>mastodon:host/statusId</c>.
/// A reblog yields the reblogged status itself (the wrapper has no content of its own).
/// </summary>
public static class MastodonParser
{
    public const string Source = "mastodon";

    public static string MakeId(string host, string statusId) => Post.MakeId(Source, $"{host}/{statusId}");

    /// <summary>One streamed status as the bytes arrived: refused with the position of a byte that is not UTF-8, else parsed.</summary>
    public static ParseOutcome ParseStatus(ReadOnlyMemory<byte> json, string host, ParseContext context)
    {
        if (ParseOutcome.NotUtf8(json.Span) is { } notUtf8)
        {
            return notUtf8;
        }

        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var post = ToPost(doc.RootElement, host, ContentHash.OfRaw(json.Span), context);
            return post is null ? ParseOutcome.Rejected("Mastodon status without id, created_at or content") : new ParseOutcome([FeedEvent.Upsert(post, post.NativeId)]);
        }
        catch (JsonException ex)
        {
            return ParseOutcome.Rejected($"malformed JSON: {ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            return ParseOutcome.Rejected($"unexpected payload shape: {ex.Message}");
        }
    }

    public static Post? ToPost(JsonElement status, string host, string rawSha256, ParseContext context)
    {
        if (status.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (status.Obj("reblog") is { } reblog)
        {
            return ToPost(reblog, host, rawSha256, context);
        }

        var id = status.Str("id");
        var created = status.Time("created_at");
        var content = status.Str("content");
        if (id is null || created is null || content is null)
        {
            return null;
        }

        var spoiler = status.Str("spoiler_text");
        var account = status.Obj("account");
        var author = account is { } a
            ? new Author(a.Str("acct") ?? a.Str("username") ?? "unknown", a.Str("display_name"), a.Long("followers_count"), a.Str("id"))
            : Author.Unknown;
        var replyTo = status.Str("in_reply_to_id") is { } r ? MakeId(host, r) : null;
        return new Post
        {
            Id = MakeId(host, id),
            Source = Source,
            NativeId = $"{host}/{id}",
            CreatedAt = created.Value,
            Author = author,
            Text = string.IsNullOrWhiteSpace(spoiler) ? content : $"CW: {spoiler}\n{content}",
            Lang = status.Str("language"),
            Url = status.Str("url") ?? status.Str("uri"),
            Relations = new PostRelations(replyTo),
            Metrics = new Engagement(status.Long("favourites_count") ?? 0, status.Long("reblogs_count") ?? 0, status.Long("replies_count") ?? 0),
            Entities = new PostEntities(
                [.. status.Arr("tags").Select(t => t.Str("name")).OfType<string>()],
                [],
                [.. status.Arr("mentions").Select(m => m.Str("acct")).OfType<string>()],
                status.Obj("card")?.Str("url") is { } card ? [card] : []),
            Provenance = new Provenance(context.Adapter, context.Endpoint, context.FetchedAt, rawSha256),
        };
    }
}
