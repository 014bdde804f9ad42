using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Host.Api;

public sealed record SearchHitDto(
    string Id,
    string Source,
    Author Author,
    string Text,
    DateTimeOffset CreatedAt,
    DateTimeOffset ReceivedAt,
    string? Url,
    string? Lang,
    PostEntities Entities,
    Engagement? Metrics,
    PostRelations Relations,
    string? DuplicateOf,
    int Duplicates,
    ScoreParts Score,
    Provenance Provenance,
    IReadOnlyList<SafetyLabel> SafetyLabels,
    PostSentiment? Sentiment,
    string? ClusterId)
{
    public static SearchHitDto From(SearchHit hit) => new(
        hit.Post.Id, hit.Post.Source, hit.Post.Author, hit.Post.Text, hit.Post.CreatedAt, hit.Post.ReceivedAt, hit.Post.Url,
        hit.Post.Lang, hit.Post.Entities, hit.Post.Metrics, hit.Post.Relations, hit.Post.DuplicateOf, hit.Duplicates, hit.Score,
        hit.Post.Provenance, hit.Post.SafetyLabels, hit.Post.Sentiment, hit.Post.ClusterId);
}

/// <param name="StageMs">Where <paramref name="TookMs"/> went, by stage (embed, vector, keyword, read, query, rank), when the store measures it.</param>
/// <param name="Abstained">True when posts were searched but none cleared the relevance floor: no results, and <paramref name="Note"/> says why (and how old the newest match outside the window is).</param>
public sealed record SearchResponse(
    string Query, string Mode, DateTimeOffset? Since, DateTimeOffset? Until, int CandidatesConsidered, double TookMs, IReadOnlyDictionary<string, double>? StageMs,
    IReadOnlyList<SearchHitDto> Results, bool Abstained = false, string? Note = null, DateTimeOffset? NewestMatchAt = null);

public static class SearchApi
{
    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/search", SearchAsync).WithName("Search")
            .WithSummary("Hybrid, recency-aware search over stored posts")
            .WithDescription("Example: GET /v1/search?q=power%20outages&window=PT1H&k=10&mode=hybrid&entity=%23storm&min_score=0.5 (min_score: the least estimated relevance, 0-1, a result's score.relevance)");
        app.MapGet("/v1/posts/{id}", GetPostAsync).WithName("GetPost").WithSummary("One stored post by id (source:native id)");
        return app;
    }

    public static async Task<Results<Ok<SearchResponse>, ValidationProblem>> SearchAsync(
        string? q, string? k, string? mode, string? window, string? since, string? until, string? source, string? lang, string? entity, string? collapse,
        string? sentiment, [FromQuery(Name = "min_sentiment")] string? minSentiment, [FromQuery(Name = "max_sentiment")] string? maxSentiment, string? safety,
        [FromQuery(Name = "min_engagement")] string? minEngagement, string? author, [FromQuery(Name = "exclude_author")] string? excludeAuthor, string? domain,
        [FromQuery(Name = "min_score")] string? minScore,
        IRetriever retriever, TimeProvider timeProvider, CancellationToken cancellationToken, Auth.UsageMeter? usage = null)
    {
        var errors = new Dictionary<string, string[]>();
        var query = new SearchParameters(q, k, mode, window, since, until, source, lang, entity, collapse)
        {
            Signals = new SignalParameters(sentiment, minSentiment, maxSentiment, safety, minEngagement, author, excludeAuthor, domain),
            MinScore = minScore,
        }.Validate(timeProvider.GetUtcNow(), errors);
        if (query is null)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid search parameters");
        }

        var started = Stopwatch.GetTimestamp();
        var result = await retriever.SearchAsync(query, cancellationToken);
        usage?.Posts(result.Hits.Count);
        return TypedResults.Ok(new SearchResponse(
            query.Text,
            query.Mode.ToString().ToLowerInvariant(),
            query.Since,
            query.Until,
            result.CandidatesConsidered,
            Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2),
            result.StageMs?.ToDictionary(s => s.Key, s => Math.Round(s.Value, 3), StringComparer.Ordinal),
            [.. result.Hits.Select(SearchHitDto.From)],
            result.Abstention is not null,
            result.Abstention?.Reason,
            result.Abstention?.NewestMatchAt));
    }

    public static async Task<Results<Ok<Post>, ProblemHttpResult>> GetPostAsync(string id, Store.IPostStore store, CancellationToken cancellationToken)
    {
        var post = await store.GetAsync(id, cancellationToken);
        return post is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Post not found", detail: $"No stored post has id '{id}'.")
            : TypedResults.Ok(post);
    }
}
