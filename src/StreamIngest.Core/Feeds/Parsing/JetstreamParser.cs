using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Parsing;

/// <summary>
/// Bluesky Jetstream frames: v1 (<c>{did, time_us, kind, commit}</c>, with or without the newer
/// <c>cursor</c> sequence) and v2 (<c>{"$type":"message","payload":{…#commit}}</c>). Post creates become
/// posts, post deletes delete; identity events teach the parser handles. Other records are skipped.
/// </summary>
public sealed class JetstreamParser(bool includeEngagement = false)
{
    public const string LikeCollection = "app.bsky.feed.like";
    public const string RepostCollection = "app.bsky.feed.repost";

    public const string Source = "bsky";
    public const string PostCollection = "app.bsky.feed.post";
    private const int MaxHandles = 100_000;

    private readonly ConcurrentDictionary<string, string> _handles = new(StringComparer.Ordinal);

    public static bool Recognizes(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty("did", out _) && root.TryGetProperty("kind", out _)
            || root.Str("$type") is "message" or "error" && (root.TryGetProperty("payload", out _) || root.TryGetProperty("error", out _)));

    /// <summary>Turns an <c>at://did/collection/rkey</c> post URI into a StreamIngest id.</summary>
    public static string? PostIdFromAtUri(string? uri)
    {
        if (uri is null || !uri.StartsWith("at://", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = uri[5..].Split('/');
        return parts.Length == 3 && parts[1] == PostCollection ? MakeId(parts[0], parts[2]) : null;
    }

    public static string MakeId(string did, string rkey) => Post.MakeId(Source, $"{did}/{rkey}");

    public ParseOutcome Parse(JsonElement root, string rawSha256, ParseContext context)
    {
        if (root.Str("$type") == "error")
        {
            return ParseOutcome.Notify($"Jetstream error: {root.Str("error")}: {root.Str("message")}");
        }

        string? did, kind, cursor, operation, collection, rkey;
        JsonElement? record;
        DateTimeOffset? seen;
        if (root.Str("$type") == "message" && root.Obj("payload") is { } payload)
        {
            // v2: the kind is the $type fragment, the cursor is seq.
            var type = payload.Str("$type") ?? string.Empty;
            kind = type[(type.LastIndexOf('#') + 1)..];
            did = payload.Str("did");
            cursor = payload.Long("seq")?.ToString(CultureInfo.InvariantCulture);
            seen = payload.Time("time");
            operation = payload.Str("operation");
            collection = payload.Str("collection");
            rkey = payload.Str("rkey");
            record = payload.Obj("record");
            if (kind == "identity" && did is not null && (payload.Str("handle") ?? payload.Obj("identity")?.Str("handle")) is { } h2)
            {
                RememberHandle(did, h2);
            }
        }
        else
        {
            did = root.Str("did");
            kind = root.Str("kind");
            var timeUs = root.Long("time_us");
            cursor = timeUs?.ToString(CultureInfo.InvariantCulture);
            seen = timeUs is { } us ? DateTimeOffset.FromUnixTimeMilliseconds(us / 1000) : null;
            var commit = root.Obj("commit");
            operation = commit?.Str("operation");
            collection = commit?.Str("collection");
            rkey = commit?.Str("rkey");
            record = commit?.Obj("record");
            if (kind == "identity" && did is not null && root.Obj("identity")?.Str("handle") is { } h1)
            {
                RememberHandle(did, h1);
            }
        }

        if (did is null || kind is null)
        {
            return ParseOutcome.Rejected("Jetstream frame without did or kind");
        }

        if (kind == "commit" && includeEngagement && operation == "create" && collection is LikeCollection or RepostCollection
            && PostIdFromAtUri(record?.Obj("subject")?.Str("uri")) is { } target)
        {
            // Un-likes arrive as deletes without the subject, so counts only go up between refreshes.
            var delta = collection == LikeCollection ? new Engagement(Likes: 1) : new Engagement(Reposts: 1);
            return new ParseOutcome([FeedEvent.Engage(target, delta, cursor)]);
        }

        if (kind != "commit" || collection != PostCollection)
        {
            return ParseOutcome.Nothing;
        }

        if (rkey is null)
        {
            return ParseOutcome.Rejected("Jetstream commit without rkey");
        }

        var id = MakeId(did, rkey);
        switch (operation)
        {
            case "delete":
                return new ParseOutcome([FeedEvent.Delete(id, cursor)]);
            case "create" or "update" when record is { } r:
                var post = ToPost(did, rkey, r, seen, rawSha256, context);
                return post is null
                    ? ParseOutcome.Rejected("Jetstream post record without text")
                    : new ParseOutcome([FeedEvent.Upsert(post, cursor)]);
            default:
                return ParseOutcome.Rejected($"Jetstream commit with operation '{operation}' and no record");
        }
    }

    private Post? ToPost(string did, string rkey, JsonElement record, DateTimeOffset? seen, string rawSha256, ParseContext context)
    {
        var text = record.Str("text");
        if (text is null)
        {
            return null;
        }

        // createdAt is client-supplied and can be far off; the relay's time bounds it.
        var created = record.Time("createdAt") ?? seen ?? context.FetchedAt;
        if (seen is { } s && (created > s.AddMinutes(5) || created < s.AddDays(-2)))
        {
            created = s;
        }

        var tags = new List<string>();
        var mentions = new List<string>();
        var links = new List<string>();
        foreach (var facet in record.Arr("facets"))
        {
            foreach (var feature in facet.Arr("features"))
            {
                switch (feature.Str("$type"))
                {
                    case "app.bsky.richtext.facet#tag" when feature.Str("tag") is { } t: tags.Add(t); break;
                    case "app.bsky.richtext.facet#link" when feature.Str("uri") is { } u: links.Add(u); break;
                    case "app.bsky.richtext.facet#mention" when feature.Str("did") is { } m: mentions.Add(_handles.GetValueOrDefault(m, m)); break;
                }
            }
        }

        foreach (var t in record.Arr("tags"))
        {
            if (t.ValueKind == JsonValueKind.String && t.GetString() is { } tag)
            {
                tags.Add(tag);
            }
        }

        string? quoteOf = null;
        if (record.Obj("embed") is { } embed)
        {
            switch (embed.Str("$type"))
            {
                case "app.bsky.embed.record":
                    quoteOf = PostIdFromAtUri(embed.Obj("record")?.Str("uri"));
                    break;
                case "app.bsky.embed.recordWithMedia":
                    quoteOf = PostIdFromAtUri(embed.Obj("record")?.Obj("record")?.Str("uri"));
                    break;
                case "app.bsky.embed.external" when embed.Obj("external")?.Str("uri") is { } ext:
                    links.Add(ext);
                    break;
            }
        }

        var lang = record.Arr("langs").Select(l => l.ValueKind == JsonValueKind.String ? l.GetString() : null).FirstOrDefault(l => l is not null);
        var handle = _handles.GetValueOrDefault(did, did);
        return new Post
        {
            Id = MakeId(did, rkey),
            Source = Source,
            NativeId = $"{did}/{rkey}",
            CreatedAt = created,
            Author = new Author(handle, NativeId: did),
            Text = text,
            Lang = lang,
            Url = $"https://bsky.app/profile/{did}/post/{rkey}",
            Relations = new PostRelations(PostIdFromAtUri(record.Obj("reply")?.Obj("parent")?.Str("uri")), quoteOf),
            Entities = new PostEntities(tags, [], mentions, links),
            Provenance = new Provenance(context.Adapter, context.Endpoint, context.FetchedAt, rawSha256),
        };
    }

    private void RememberHandle(string did, string handle)
    {
        if (_handles.Count >= MaxHandles)
        {
            _handles.Clear(); // bounded memory; handles are re-learned from later identity events
        }

        _handles[did] = handle;
    }
}
