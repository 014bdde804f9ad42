using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamIngest.Embed;
using StreamIngest.Store;

namespace StreamIngest.Pipeline;

/// <summary>
/// Embeds again the posts stored without a vector (their embedding failed after the embedder's retries: a remote
/// endpoint down or throttling for minutes), so they become findable by meaning once the endpoint is back. Sweeps at
/// start, then every <paramref name="interval"/> while failures are being recorded or the last sweep found posts;
/// each post found is embedded and written again (an idempotent upsert by id).
/// </summary>
public sealed partial class ReembedWorker(
    IPostStore store, IEmbedder embedder, PipelineMetrics metrics, TimeSpan interval, TimeProvider timeProvider, ILogger<ReembedWorker> logger) : BackgroundService
{
    public const int BatchSize = 256;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failuresSeen = -1L;
        var lastFound = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var failures = metrics.EmbedFailed;
            if (failures != failuresSeen || lastFound > 0)
            {
                failuresSeen = failures;
                try
                {
                    lastFound = await SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(ex);
                    lastFound = 1; // try again next time
                }
            }

            await Task.Delay(interval, timeProvider, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One pass: up to <see cref="BatchSize"/> posts embedded and stored again; returns how many were found.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var posts = await store.ListUnembeddedAsync(BatchSize, cancellationToken).ConfigureAwait(false);
        if (posts.Count == 0)
        {
            return 0;
        }

        var vectors = await embedder.EmbedAsync([.. posts.Select(p => p.Text)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < posts.Count; i++)
        {
            posts[i].Embedding = vectors[i];
        }

        await store.SetEmbeddingsAsync(posts, cancellationToken).ConfigureAwait(false);
        metrics.RecordEmbedded(posts.Count);
        LogReembedded(posts.Count);
        return posts.Count;
    }

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Embedded {Count} posts stored earlier without a vector")]
    private partial void LogReembedded(int count);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Re-embedding sweep failed; trying again later")]
    private partial void LogSweepFailed(Exception ex);
}
