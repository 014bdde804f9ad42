using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using StreamIngest.Feeds.Health;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Pipeline;

/// <summary>
/// The process role: consumes batches from the transport and hands them to <see cref="PostProcessor"/>.
/// Transient failures (store busy, embedder hiccup) are retried by the "process-batch" pipeline; a batch
/// that still fails is dead-lettered event by event, so nothing is dropped silently and the loop goes on.
/// When the transport itself cannot run (Event Hubs or its checkpoint store unreachable at start-up), the
/// worker reports it in <see cref="Health"/> and starts it again with backoff (1 s doubling to 60 s) instead of
/// stopping the host: the API stays up and processing resumes when the hub returns.
/// </summary>
public sealed partial class ProcessWorker(
    IFeedConsumer consumer,
    PostProcessor processor,
    IDeadLetterStore deadLetters,
    PipelineMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ProcessWorker> logger) : BackgroundService
{
    /// <summary>
    /// The "process-batch" pipeline: transient failures retried with jittered exponential backoff, except those the
    /// layer below has already retried (<see cref="RetriedBelow"/>: Cosmos DB's 429 after the SDK's own retries;
    /// retrying those again would multiply the attempts, 6 × 9).
    /// </summary>
    public ResiliencePipeline Retry
    {
        get => field ??= BatchRetries.Jittered("process-batch", 5, RetriedBelow);
        init;
    }

    /// <summary>
    /// Failures the layer below has already retried (throttling after the Cosmos DB SDK's own retries): neither retried
    /// here nor dead-lettered. They propagate, so the transport hands the batch over again later (Event Hubs: with its
    /// own backoff) and the checkpoint never passes a batch that was not stored.
    /// </summary>
    public Func<Exception, bool>? RetriedBelow { get; init; }

    /// <summary>Where transport failures are reported (shown in /v1/feeds and /health/ready); optional.</summary>
    public FeedHealth? Health { get; init; }

    /// <summary>Backoff between restarts of a transport that failed.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = RestartDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await consumer.ConsumeAsync(HandleAsync, stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // shutting down
            }
            catch (Exception ex)
            {
                LogTransportFailed(ex, delay.TotalSeconds);
                Health?.OnDisconnected($"{ex.GetType().Name}: {ex.Message}");
            }

            try
            {
                await Task.Delay(delay, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRestartDelay.Ticks));
        }
    }

    private async Task HandleAsync(IReadOnlyList<FeedEvent> batch, CancellationToken ct)
    {
        try
        {
            await Retry.ExecuteAsync(
                static async (state, token) => await state.processor.HandleAsync(state.batch, token).ConfigureAwait(false),
                (processor, batch),
                ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (RetriedBelow?.Invoke(ex) == true)
        {
            LogBatchThrottled(ex, batch.Count);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogBatchFailed(ex, batch.Count);
            var now = timeProvider.GetUtcNow();
            foreach (var e in batch)
            {
                var raw = e.Post?.Text ?? e.PostId;
                await deadLetters.WriteAsync(
                    DeadLetter.Create(e.Post?.Provenance.Adapter ?? "process", $"processing failed after retries: {ex.GetType().Name}: {ex.Message}", raw, e.PostId, now),
                    CancellationToken.None).ConfigureAwait(false);
            }

            metrics.RecordProcessed(batch.Count);
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "The transport could not run; starting it again in {DelaySeconds} s")]
    private partial void LogTransportFailed(Exception ex, double delaySeconds);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Batch of {Count} events still throttled after the store's own retries; handed back to the transport to be delivered again")]
    private partial void LogBatchThrottled(Exception ex, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Batch of {Count} events failed after retries; dead-lettered")]
    private partial void LogBatchFailed(Exception ex, int count);
}
