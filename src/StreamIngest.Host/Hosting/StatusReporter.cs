using Microsoft.Extensions.Options;
using StreamIngest.Pipeline;
using StreamIngest.Transport;

namespace StreamIngest.Host.Hosting;

/// <summary>Logs one status line every few seconds: rates, totals, queue depth and freshness.</summary>
public sealed partial class StatusReporter(
    PipelineMetrics metrics,
    IFeedConsumer consumer,
    IServiceProvider services,
    IOptions<StreamIngestOptions> options,
    TimeProvider timeProvider,
    ILogger<StatusReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.StatusIntervalSeconds);
        using var timer = new PeriodicTimer(interval, timeProvider);
        long lastIn = 0, lastStored = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var received = metrics.Received;
            var stored = metrics.Stored;
            var newest = metrics.NewestStored;
            LogStatus(
                (received - lastIn) / interval.TotalSeconds,
                (stored - lastStored) / interval.TotalSeconds,
                stored,
                services.GetService<StreamIngest.Store.IStoreFigures>()?.Searchable ?? -1,
                metrics.Rejected,
                consumer.Backlog ?? -1,
                metrics.FreshnessPercentile(50) ?? 0,
                metrics.FreshnessPercentile(99) ?? 0,
                newest is null ? "n/a" : $"{(timeProvider.GetUtcNow() - newest.Value).TotalSeconds:F0}s");
            lastIn = received;
            lastStored = stored;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "status: in {InPerSecond:F1}/s, stored {StoredPerSecond:F1}/s (total {Stored}, searchable {Searchable}), rejected {Rejected}, queue {Queue}, freshness p50 {P50:F0} ms p99 {P99:F0} ms, newest post age {NewestAge}")]
    private partial void LogStatus(double inPerSecond, double storedPerSecond, long stored, int searchable, long rejected, long queue, double p50, double p99, string newestAge);
}
