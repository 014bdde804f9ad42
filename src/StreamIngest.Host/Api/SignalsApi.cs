using Microsoft.AspNetCore.Http.HttpResults;
using StreamIngest.Enrich.Signals;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Host.Api;

/// <summary><c>GET /v1/sentiment</c>: the mood about one entity (a ticker, a hashtag, an account) over a window, per bucket, and whether it is turning.</summary>
/// <summary>The stories of a window, and how many posts they were drawn from (<c>Truncated</c>: the window held more than were read).</summary>
public sealed record StoriesResponse(DateTimeOffset Since, DateTimeOffset Until, int PostsRead, bool Truncated, IReadOnlyList<Story> Stories);

public static class SignalsApi
{
    public const int MaxPosts = 5000;
    public const int MaxBuckets = 200;

    public static IEndpointRouteBuilder MapSignalsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/sentiment", SentimentAsync).WithName("Sentiment")
            .WithSummary("Sentiment over time for one entity (a cashtag adds the finance-aware score)")
            .WithDescription("Example: GET /v1/sentiment?entity=%24NVDA&window=PT6H&bucket=PT1H");
        app.MapGet("/v1/stories", StoriesAsync).WithName("Stories")
            .WithSummary("Largest or fastest-growing stories (near-duplicate clusters) of the window")
            .WithDescription("Example: GET /v1/stories?window=PT1H&sort=growth&limit=10");
        return app;
    }

    public static async Task<Results<Ok<SentimentSummary>, ValidationProblem>> SentimentAsync(
        string? entity, string? window, string? bucket, IPostReader reader, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var filter = EntityFilter.TryParse(entity);
        if (filter is null)
        {
            errors["entity"] = ["'entity' is required: $CASHTAG, #hashtag or @mention (URL-encode $ and # as %24 and %23)."];
        }

        var span = Duration("window", window, TimeSpan.FromHours(6), errors);
        var step = Duration("bucket", bucket, TimeSpan.FromHours(1), errors);
        if (errors.Count == 0 && (step > span || span / step > MaxBuckets))
        {
            errors["bucket"] = [$"'bucket' must fit in 'window' at most {MaxBuckets} times."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid sentiment request");
        }

        var until = timeProvider.GetUtcNow();
        var since = until - span;
        var posts = await reader.ListByEntityAsync(filter!, since, until, MaxPosts, cancellationToken);
        var label = filter!.Kind switch { EntityKind.Cashtag => "$", EntityKind.Hashtag => "#", _ => "@" } + filter.Value;
        return TypedResults.Ok(SentimentSummary.Summarize(label, filter.Kind == EntityKind.Cashtag ? filter.Value : null, posts, since, until, step));
    }

    /// <summary>The largest (or, with <c>sort=growth</c>, fastest-growing) stories of the window: posts that say the same thing, collapsed.</summary>
    public static async Task<Results<Ok<StoriesResponse>, ValidationProblem>> StoriesAsync(
        string? window, string? sort, string? limit, IPostReader reader, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var span = Duration("window", window, TimeSpan.FromHours(1), errors);
        if (sort is not (null or "size" or "growth"))
        {
            errors["sort"] = ["'sort' must be size or growth."];
        }

        var top = 20;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out top) || top is < 1 or > 100))
        {
            errors["limit"] = ["'limit' must be from 1 to 100."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid stories request");
        }

        var until = timeProvider.GetUtcNow();
        var since = until - span;
        var posts = await reader.ListRecentAsync(since, until, MaxStoryPosts, cancellationToken);
        return TypedResults.Ok(new StoriesResponse(since, until, posts.Count, posts.Count == MaxStoryPosts, Stories.Summarize(posts, since, until, byGrowth: sort == "growth", top: top)));
    }

    /// <summary>Posts read at most for <c>/v1/stories</c> (the newest of the window).</summary>
    public const int MaxStoryPosts = 20_000;

    private static TimeSpan Duration(string name, string? value, TimeSpan fallback, Dictionary<string, string[]> errors) =>
        IsoDuration.Parameter(name, value, fallback, TimeSpan.FromMinutes(1), TimeSpan.FromDays(31), "from PT1M to P31D, such as PT1H", errors);
}
