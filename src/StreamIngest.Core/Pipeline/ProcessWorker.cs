using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Pipeline;

/// <summary>
/// The process role: consumes batches from the transport and hands them to <see cref="PostProcessor"/>.
/// Transient failures (store busy, embedder hiccup) are retried by the "process-batch" pipeline; a batch
/// that still fails is dead-lettered event by event, so nothing is dropped silently and the loop goes on.
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await consumer.ConsumeAsync(HandleAsync, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
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

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Batch of {Count} events failed after retries; dead-lettered")]
    private partial void LogBatchFailed(Exception ex, int count);
}
