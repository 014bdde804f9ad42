using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamIngest.Feeds;
using StreamIngest.Transport;

namespace StreamIngest.Pipeline;

/// <summary>The ingest role: runs every configured feed and publishes its events to the transport.</summary>
public sealed partial class IngestWorker(
    IEnumerable<IFeedSource> feeds,
    IFeedPublisher publisher,
    PipelineMetrics metrics,
    ILogger<IngestWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(feeds.Select(feed => RunFeedAsync(feed, stoppingToken)));

    private async Task RunFeedAsync(IFeedSource feed, CancellationToken ct)
    {
        LogFeedStarting(feed.Name);
        long count = 0;
        try
        {
            await foreach (var e in feed.ReadAsync(ct).ConfigureAwait(false))
            {
                await publisher.PublishAsync(e, ct).ConfigureAwait(false);
                metrics.RecordReceived(e.Post?.Source ?? SourceOf(e.PostId));
                count++;
            }

            LogFeedEnded(feed.Name, count);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            LogFeedStopped(feed.Name, count);
        }
        catch (Exception ex)
        {
            // One failing feed must not take the others (or the API) down with it.
            LogFeedFailed(ex, feed.Name, count);
        }
    }

    private static string SourceOf(string postId) => postId.IndexOf(':', StringComparison.Ordinal) is var colon and > 0 ? postId[..colon] : "unknown";

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Feed {Feed} starting")]
    private partial void LogFeedStarting(string feed);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Feed {Feed} ended after {Count} events")]
    private partial void LogFeedEnded(string feed, long count);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Feed {Feed} stopped after {Count} events")]
    private partial void LogFeedStopped(string feed, long count);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Feed {Feed} failed after {Count} events")]
    private partial void LogFeedFailed(Exception ex, string feed, long count);
}
