using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
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
    public static readonly ResiliencePipeline DefaultRetry = new ResiliencePipelineBuilder
    {
        Name = "process-batch",
    }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(5),
            MaxRetryAttempts = 5,
        })
        .Build();

    public ResiliencePipeline Retry { get; init; } = DefaultRetry;

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

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Batch of {Count} events failed after retries; dead-lettered")]
    private partial void LogBatchFailed(Exception ex, int count);
}
