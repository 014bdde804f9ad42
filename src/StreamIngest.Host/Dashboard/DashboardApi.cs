using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Feeds.Health;
using StreamIngest.Host.Api;
using StreamIngest.Model;
using StreamIngest.Pipeline;

namespace StreamIngest.Host.Dashboard;

/// <summary>Everything the dashboard page shows, in one response it polls every couple of seconds while open.</summary>
public sealed record DashboardResponse(
    DateTimeOffset GeneratedAt,
    string Role,
    StatsResponse Stats,
    IReadOnlyList<DashboardSample> History,
    IReadOnlyList<FeedStatus> Feeds,
    IReadOnlyList<TrendSnapshot> Trends,
    IReadOnlyList<StreamIngest.Enrich.Signals.Burst>? Bursts,
    IReadOnlyList<PartitionStatus>? Partitions,
    string? PartitionsError);

/// <summary>A newly stored post as the live tail shows it.</summary>
public sealed record TailPost(string Id, string Source, string Author, string Text, DateTimeOffset CreatedAt, string? Url, string? Lang, IReadOnlyList<SafetyLabel> SafetyLabels, string? DuplicateOf);

public static class DashboardApi
{
    /// <summary>Where the committed static page is copied beside the app (no front-end build step).</summary>
    public static string AssetsPath => Path.Combine(AppContext.BaseDirectory, "Dashboard", "wwwroot");

    public static void AddDashboard(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StoredPostTail>();
        builder.Services.AddSingleton<DashboardHistory>();
        builder.Services.AddHostedService<DashboardSampler>();
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        var files = new PhysicalFileProvider(AssetsPath);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.MapGet("/v1/dashboard", GetAsync).WithName("Dashboard").WithSummary("The operator dashboard's data: rates, freshness, feeds, queue, dead letters");
        app.MapGet("/v1/stream/posts", StreamPosts).WithName("StreamPosts").WithSummary("Server-sent events: every newly stored post as it lands")
            .Produces<TailPost>(StatusCodes.Status200OK, "text/event-stream");
        return app;
    }

    public static async Task<Ok<DashboardResponse>> GetAsync(
        DashboardHistory history,
        FeedHealthRegistry feeds,
        TrendRegistry trends,
        PipelineMetrics metrics,
        Store.IPostStore store,
        Transport.IFeedConsumer consumer,
        Store.IStoreFigures figures,
        IServiceProvider services,
        Microsoft.Extensions.Options.IOptions<Hosting.StreamIngestOptions> options,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var stats = (await OpsApi.StatsAsync(metrics, store, consumer, figures, services, cancellationToken)).Value!;
        IReadOnlyList<PartitionStatus>? partitions = null;
        string? partitionsError = null;
        if (services.GetService<PartitionStatusReader>() is { } reader)
        {
            try
            {
                partitions = await reader.ReadAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                partitionsError = $"{ex.GetType().Name}: {ex.Message}";
            }
        }

        IReadOnlyList<StreamIngest.Enrich.Signals.Burst>? bursts = null;
        if (services.GetService<Store.IEntityCountStore>() is { } counts)
        {
            var now = timeProvider.GetUtcNow();
            bursts = StreamIngest.Enrich.Signals.Bursts.Detect(
                await counts.ReadAsync(now - TimeSpan.FromHours(1) - StreamIngest.Enrich.Signals.Bursts.Baseline, cancellationToken), now, TimeSpan.FromHours(1));
        }

        return TypedResults.Ok(new DashboardResponse(
            timeProvider.GetUtcNow(),
            options.Value.Role.ToString().ToLowerInvariant(),
            stats,
            history.Samples,
            feeds.Snapshot(),
            trends.Latest(),
            bursts,
            partitions,
            partitionsError));
    }

    /// <summary>
    /// The live tail as <c>post</c> events. Headers and a comment go out at once, so a client (a browser's
    /// EventSource) is open before the first post arrives, and a stopping host ends the stream.
    /// </summary>
    public static async Task StreamPosts(
        HttpContext http, StoredPostTail tail, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken cancellationToken)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.WriteAsync(": subscribed\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
        try
        {
            var items = TailAsync(tail, cancellationToken).Select(p => new SseItem<TailPost>(p, "post"));
            await SseFormatter.WriteAsync(
                items,
                http.Response.Body,
                (item, buffer) =>
                {
                    using var writer = new Utf8JsonWriter(buffer);
                    JsonSerializer.Serialize(writer, item.Data, json.Value.SerializerOptions);
                },
                cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away, or the host is stopping
        }
    }

    private static async IAsyncEnumerable<TailPost> TailAsync(StoredPostTail tail, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var p in tail.WatchAsync(cancellationToken))
        {
            yield return new TailPost(
                p.Id, p.Source, p.Author.Handle, p.Text.Length > 500 ? p.Text[..500] + "…" : p.Text, p.CreatedAt, p.Url, p.Lang, p.SafetyLabels, p.DuplicateOf);
        }
    }
}
