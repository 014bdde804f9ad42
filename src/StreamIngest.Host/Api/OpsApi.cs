using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Host.Api;

public sealed record StatsResponse(
    long Received,
    long Stored,
    long Rejected,
    long Deleted,
    long Processed,
    long Duplicates,
    long StoredPosts,
    int Searchable,
    long? Queue,
    double? FreshnessP50Ms,
    double? FreshnessP99Ms,
    DateTimeOffset? NewestStored,
    double? CosmosRuPerPost,
    double? CosmosRuPerQuery,
    EmbeddingUsage? Embedding = null,
    StreamIngest.Capacity.CapacitySnapshot? Capacity = null,
    int? GraphRows = null);

/// <summary>A metered embedder's use (remote providers): tokens for posts and queries, estimated cost, retries, cut inputs, posts stored without a vector.</summary>
public sealed record EmbeddingUsage(string Model, long PostTokens, long QueryTokens, double CostUsd, long Retries, long TruncatedInputs, long StoredWithoutVector, long ReusedOnRedelivery);

/// <summary>Computed bursts (null where the store keeps no counts) and the platforms' latest trends.</summary>
public sealed record TrendsResponse(DateTimeOffset At, TimeSpan Window, string? Kind, IReadOnlyList<StreamIngest.Enrich.Signals.Burst>? Bursts, IReadOnlyList<Feeds.Health.TrendSnapshot> Platform);

public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapGet("/v1/stats", StatsAsync).WithName("Stats").WithSummary("Pipeline counters: received, processed, stored, dead-lettered, queue, freshness");
        app.MapGet("/v1/deadletters", DeadLettersAsync).WithName("DeadLetters").WithSummary("The most recent dead letters, each with its source, reason and raw payload");
        app.MapGet("/v1/feeds", (Feeds.Health.FeedHealthRegistry feeds) => TypedResults.Ok(feeds.Snapshot())).WithName("Feeds").WithSummary("Health of every live feed: connected, posts, reconnects, resume cursor, gaps");
        app.MapGet("/v1/trends", TrendsAsync).WithName("Trends").WithSummary("What is spiking: computed bursts per entity merged with the platforms' trends")
            .WithDescription("Example: GET /v1/trends?window=PT1H&kind=cashtag");
        return app;
    }

    public static async Task<Ok<StatsResponse>> StatsAsync(
        PipelineMetrics metrics, IPostStore store, IFeedConsumer consumer, IStoreFigures figures, IServiceProvider services, CancellationToken cancellationToken) =>
        TypedResults.Ok(new StatsResponse(
            metrics.Received,
            metrics.Stored,
            metrics.Rejected,
            metrics.Deleted,
            metrics.Processed,
            metrics.Duplicates,
            await store.CountAsync(cancellationToken),
            figures.Searchable ?? -1,
            consumer.Backlog,
            metrics.FreshnessPercentile(50),
            metrics.FreshnessPercentile(99),
            metrics.NewestStored,
            figures.RuPerPost,
            figures.RuPerQuery,
            services.GetService<StreamIngest.Embed.IEmbeddingUsage>() is { } usage
                ? new EmbeddingUsage(services.GetRequiredService<StreamIngest.Embed.IEmbedder>().Model, usage.PostTokens, usage.QueryTokens, Math.Round(usage.CostUsd, 6), usage.Retries, usage.TruncatedInputs, metrics.EmbedFailed, metrics.VectorsReused)
                : null,
            services.GetService<StreamIngest.Capacity.CapacityController>()?.Current,
            figures.GraphRows));

    /// <summary>
    /// What is spiking: bursts computed from the stored posts (entities mentioned unusually often in the window
    /// against their own 12-hour baseline) merged with the platforms' own trends (X, Mastodon).
    /// </summary>
    public static async Task<Results<Ok<TrendsResponse>, ValidationProblem>> TrendsAsync(
        string? window, string? kind, Feeds.Health.TrendRegistry trends, IServiceProvider services, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var span = IsoDuration.Parameter("window", window, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.FromHours(12), "from PT5M to PT12H", errors);

        if (kind is not (null or "hashtag" or "cashtag" or "mention" or "domain"))
        {
            errors["kind"] = ["'kind' must be hashtag, cashtag, mention or domain."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid trends request");
        }

        var now = timeProvider.GetUtcNow();
        IReadOnlyList<Enrich.Signals.Burst>? bursts = null;
        if (services.GetService<IEntityCountStore>() is { } counts)
        {
            var read = await counts.ReadAsync(now - span - Enrich.Signals.Bursts.Baseline, cancellationToken);
            bursts = Enrich.Signals.Bursts.Detect(read, now, span, kind);
        }

        return TypedResults.Ok(new TrendsResponse(now, span, kind, bursts, trends.Latest()));
    }

    public static async Task<Results<Ok<IReadOnlyList<DeadLetter>>, ValidationProblem>> DeadLettersAsync(
        int? limit, IDeadLetterStore deadLetters, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 1000)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = ["'limit' must be from 1 to 1000."] });
        }

        return TypedResults.Ok(await deadLetters.ListAsync(limit ?? 50, cancellationToken));
    }
}
