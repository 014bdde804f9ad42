using System.Xml;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamIngest.Enrich.Signals;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Host.Api;

/// <summary><c>GET /v1/sentiment</c>: the mood about one entity (a ticker, a hashtag, an account) over a window, per bucket, and whether it is turning.</summary>
public static class SignalsApi
{
    public const int MaxPosts = 5000;
    public const int MaxBuckets = 200;

    public static IEndpointRouteBuilder MapSignalsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/sentiment", SentimentAsync).WithName("Sentiment");
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

    private static TimeSpan Duration(string name, string? value, TimeSpan fallback, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return fallback;
        }

        try
        {
            var d = XmlConvert.ToTimeSpan(value);
            if (d >= TimeSpan.FromMinutes(1) && d <= TimeSpan.FromDays(31))
            {
                return d;
            }
        }
        catch (FormatException)
        {
        }

        errors[name] = [$"'{name}' must be an ISO-8601 duration from PT1M to P31D, such as PT1H."];
        return fallback;
    }
}
