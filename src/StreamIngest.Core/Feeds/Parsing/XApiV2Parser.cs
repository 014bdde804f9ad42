using System.Text.Json;
using StreamIngest.Enrich;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Parsing;

/// <summary>
/// X API v2 payloads: response pages (<c>data</c> is an array: recent/full-archive search, lookups) and
/// filtered-stream messages (<c>data</c> is one tweet, with <c>matching_rules</c>). Authors come from
/// <c>includes.users</c>. Error-only objects (e.g. <c>operational-disconnect</c>) are notices, not posts.
/// </summary>
public static class XApiV2Parser
{
    public const string Source = "x";

    public static bool Recognizes(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty("data", out var d) && d.ValueKind is JsonValueKind.Array or JsonValueKind.Object && !root.TryGetProperty("kind", out _)
            || root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Array && !root.TryGetProperty("data", out _));

    public static ParseOutcome Parse(JsonElement root, string rawSha256, ParseContext context)
    {
        if (!root.TryGetProperty("data", out var data))
        {
            var first = root.Arr("errors").FirstOrDefault();
            var title = first.Str("title") ?? first.Str("type") ?? "error";
            var detail = first.Str("detail") ?? first.Str("message");
            return ParseOutcome.Notify(detail is null ? $"X stream error: {title}" : $"X stream error: {title}: {detail}");
        }

        var users = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (root.Obj("includes") is { } includes)
        {
            foreach (var u in includes.Arr("users"))
            {
                if (u.Str("id") is { } id)
                {
                    users[id] = u;
                }
            }
        }

        var tweets = data.ValueKind == JsonValueKind.Array ? data.EnumerateArray().ToArray() : [data];
        var events = new List<FeedEvent>(tweets.Length);
        foreach (var tweet in tweets)
        {
            var post = ToPost(tweet, users, rawSha256, context);
            if (post is null)
            {
                return ParseOutcome.Rejected("X tweet without id, text or created_at");
            }

            events.Add(FeedEvent.Upsert(post, post.NativeId));
        }

        return new ParseOutcome(events);
    }

    private static Post? ToPost(JsonElement tweet, Dictionary<string, JsonElement> users, string rawSha256, ParseContext context)
    {
        var id = tweet.Str("id");
        var text = tweet.Obj("note_tweet")?.Str("text") ?? tweet.Str("text");
        var created = tweet.Time("created_at");
        if (id is null || text is null || created is null)
        {
            return null;
        }

        var author = Author.Unknown;
        var authorId = tweet.Str("author_id");
        if (authorId is not null)
        {
            author = users.TryGetValue(authorId, out var u)
                ? new Author(u.Str("username") ?? authorId, u.Str("name"), u.Obj("public_metrics")?.Long("followers_count"), authorId)
                : new Author(authorId, NativeId: authorId);
        }

        string? replyTo = null, quoteOf = null, repostOf = null;
        foreach (var r in tweet.Arr("referenced_tweets"))
        {
            var refId = r.Str("id") is { } rid ? Post.MakeId(Source, rid) : null;
            switch (r.Str("type"))
            {
                case "replied_to": replyTo = refId; break;
                case "quoted": quoteOf = refId; break;
                case "retweeted": repostOf = refId; break;
            }
        }

        Engagement? metrics = null;
        if (tweet.Obj("public_metrics") is { } pm)
        {
            metrics = new Engagement(pm.Long("like_count") ?? 0, pm.Long("retweet_count") ?? 0, pm.Long("reply_count") ?? 0, pm.Long("quote_count") ?? 0);
        }

        var entities = PostEntities.Empty;
        if (tweet.Obj("entities") is { } ent)
        {
            entities = new PostEntities(
                [.. ent.Arr("hashtags").Select(h => h.Str("tag")).OfType<string>()],
                [.. ent.Arr("cashtags").Select(h => h.Str("tag")).OfType<string>()],
                [.. ent.Arr("mentions").Select(h => h.Str("username")).OfType<string>()],
                [.. ent.Arr("urls").Select(h => h.Str("unwound_url") ?? h.Str("expanded_url")).OfType<string>()
                    .Where(u => !IsSelfLink(u))]);
        }

        var handle = author == Author.Unknown ? "i" : author.Handle;
        return new Post
        {
            Id = Post.MakeId(Source, id),
            Source = Source,
            NativeId = id,
            CreatedAt = created.Value,
            Author = author,
            Text = text,
            Lang = tweet.Str("lang"),
            Url = handle == "i" ? $"https://x.com/i/web/status/{id}" : $"https://x.com/{handle}/status/{id}",
            Relations = new PostRelations(replyTo, quoteOf, repostOf),
            Metrics = metrics,
            Entities = entities,
            Provenance = new Provenance(context.Adapter, context.Endpoint, context.FetchedAt, rawSha256),
        };
    }

    // Media and quote links point back at X itself and say nothing about the content.
    private static bool IsSelfLink(string url) =>
        UrlCanonicalizer.Canonicalize(url) is { } c
        && (c.StartsWith("https://twitter.com/", StringComparison.Ordinal) || c.StartsWith("https://x.com/", StringComparison.Ordinal))
        && (c.Contains("/photo/", StringComparison.Ordinal) || c.Contains("/video/", StringComparison.Ordinal));
}
