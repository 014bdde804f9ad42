using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamIngest.Store;

namespace StreamIngest.Pipeline;

/// <summary>Purges posts older than the retention window in the background (0 = keep everything).</summary>
public sealed partial class RetentionWorker(IPostStore store, TimeSpan retention, TimeSpan interval, TimeProvider timeProvider, ILogger<RetentionWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (retention <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, timeProvider);
        do
        {
            try
            {
                var purged = await store.PurgeAsync(timeProvider.GetUtcNow() - retention, stoppingToken).ConfigureAwait(false);
                if (purged > 0)
                {
                    LogPurged(purged, retention);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPurgeFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Purged {Count} posts older than {Retention}")]
    private partial void LogPurged(int count, TimeSpan retention);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Retention purge failed; will retry")]
    private partial void LogPurgeFailed(Exception ex);
}
