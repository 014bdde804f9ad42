using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamIngest.Embedded.Vectors;
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
    double? CosmosRuPerQuery);

public static class OpsApi
{
    public static IEndpointRouteBuilder MapOpsApi(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapGet("/v1/stats", StatsAsync).WithName("Stats");
        app.MapGet("/v1/deadletters", DeadLettersAsync).WithName("DeadLetters");
        app.MapGet("/v1/feeds", (Feeds.Health.FeedHealthRegistry feeds) => TypedResults.Ok(feeds.Snapshot())).WithName("Feeds");
        app.MapGet("/v1/trends", (Feeds.Health.TrendRegistry trends) => TypedResults.Ok(trends.Latest())).WithName("Trends");
        return app;
    }

    public static async Task<Ok<StatsResponse>> StatsAsync(
        PipelineMetrics metrics, IPostStore store, IFeedConsumer consumer, IServiceProvider services, CancellationToken cancellationToken) =>
        TypedResults.Ok(new StatsResponse(
            metrics.Received,
            metrics.Stored,
            metrics.Rejected,
            metrics.Deleted,
            metrics.Processed,
            metrics.Duplicates,
            await store.CountAsync(cancellationToken),
            services.GetService<Int8VectorIndex>()?.Count ?? -1,
            consumer.Backlog,
            metrics.FreshnessPercentile(50),
            metrics.FreshnessPercentile(99),
            metrics.NewestStored,
            services.GetService<StreamIngest.Azure.Cosmos.CosmosPostStore>()?.Cost.RuPerPost,
            services.GetService<StreamIngest.Azure.Cosmos.CosmosPostStore>()?.Cost.RuPerQuery));

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
