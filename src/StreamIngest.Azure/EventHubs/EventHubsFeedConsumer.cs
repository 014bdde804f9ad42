using System.Text.Json;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Processor;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using StreamIngest.Feeds.Health;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// The process role's transport: an Event Hubs processor (load-balanced across instances through the
/// checkpoint store's ownership records) that hands each partition's batches to the pipeline and
/// checkpoints only after the handler returned, i.e. after the batch is durably stored (at-least-once;
/// replays after a crash are collapsed by the store's idempotent upserts). A batch whose handler fails is
/// handed over again (with backoff) until it is durably handled, stored or dead-lettered, before the partition
/// moves on: the processor delivers a partition's batches one at a time, so no later batch can be checkpointed
/// past a failed one. Handlers never throw.
/// </summary>
public sealed partial class EventHubsFeedConsumer : PluggableCheckpointStoreEventProcessor<EventProcessorPartition>, IFeedConsumer
{
    private readonly IDeadLetterStore _deadLetters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EventHubsFeedConsumer> _logger;
    private FeedBatchHandler? _handler;
    private ResiliencePipeline? _redeliver;

    public EventHubsFeedConsumer(
        CheckpointStore checkpointStore,
        int maxBatch,
        string consumerGroup,
        string connectionString,
        string eventHubName,
        EventProcessorOptions options,
        IDeadLetterStore deadLetters,
        TimeProvider timeProvider,
        ILogger<EventHubsFeedConsumer> logger)
        : base(checkpointStore, maxBatch, consumerGroup, connectionString, eventHubName, options)
    {
        _deadLetters = deadLetters;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public EventHubsFeedConsumer(
        CheckpointStore checkpointStore,
        int maxBatch,
        string consumerGroup,
        string fullyQualifiedNamespace,
        string eventHubName,
        global::Azure.Core.TokenCredential credential,
        EventProcessorOptions options,
        IDeadLetterStore deadLetters,
        TimeProvider timeProvider,
        ILogger<EventHubsFeedConsumer> logger)
        : base(checkpointStore, maxBatch, consumerGroup, fullyQualifiedNamespace, eventHubName, credential, options)
    {
        _deadLetters = deadLetters;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public long? Backlog => null;

    private string HealthEndpoint => $"{FullyQualifiedNamespace}/{EventHubName} ({ConsumerGroup}) as {Identifier}";

    /// <summary>Connection state, errors and restarts of this processor (shown in /v1/feeds and /health/ready).</summary>
    public FeedHealth? Health { get; init; }

    /// <summary>How a failed batch is handed over again: 1 s doubling to 60 s, until it succeeds or processing stops.</summary>
    internal ResiliencePipeline Redeliver
    {
        get => _redeliver ??= new ResiliencePipelineBuilder { Name = "eventhubs-redeliver-batch", TimeProvider = _timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(60),
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    LogBatchError(args.Outcome.Exception!, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        init => _redeliver = value;
    }

    /// <summary>Work to do before processing starts (e.g. creating the checkpoint container on an emulator).</summary>
    public Func<CancellationToken, Task>? BeforeStart { get; init; }

    /// <summary>Where decoded batches go (set by <see cref="ConsumeAsync"/>).</summary>
    internal FeedBatchHandler? Handler
    {
        get => _handler;
        set => _handler = value;
    }

    public async Task ConsumeAsync(FeedBatchHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        if (BeforeStart is not null)
        {
            await BeforeStart(cancellationToken).ConfigureAwait(false);
        }

        await StartProcessingAsync(cancellationToken).ConfigureAwait(false);
        Health?.OnConnected(HealthEndpoint);
        LogStarted(Identifier);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Relinquish ownership so another instance takes the partitions at once.
            await StopProcessingAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    protected override Task OnProcessingEventBatchAsync(IEnumerable<EventData> events, EventProcessorPartition partition, CancellationToken cancellationToken) =>
        HandleBatchAsync(events, partition.PartitionId, position => UpdateCheckpointAsync(partition.PartitionId, position, cancellationToken), cancellationToken);

    /// <summary>
    /// One partition batch: decode (undecodable events are dead-lettered), hand to the pipeline until it returns
    /// normally, and only then checkpoint past the last event. Never throws; on shutdown the unhandled batch is
    /// left without a checkpoint, so whoever owns the partition next receives it again.
    /// </summary>
    internal async Task HandleBatchAsync(IEnumerable<EventData> events, string partitionId, Func<CheckpointPosition, Task> checkpoint, CancellationToken cancellationToken)
    {
        try
        {
            var batch = new List<FeedEvent>();
            EventData? last = null;
            foreach (var data in events)
            {
                last = data;
                try
                {
                    batch.Add(EventHubsFeedPublisher.FromEventData(data) with { Position = new TransportPosition($"eventhubs/{partitionId}", data.SequenceNumber) });
                }
                catch (JsonException ex)
                {
                    await Redeliver.ExecuteAsync(
                        async ct => await _deadLetters.WriteAsync(
                            DeadLetter.Create("eventhubs", $"undecodable event: {ex.Message}", data.EventBody.ToString(), $"partition {partitionId} seq {data.SequenceNumber}", _timeProvider.GetUtcNow()),
                            ct).ConfigureAwait(false),
                        cancellationToken).ConfigureAwait(false);
                }
            }

            if (last is null)
            {
                return;
            }

            if (batch.Count > 0)
            {
                // Until the handler returned normally the batch is not durable: hand it over again, and do not let
                // the partition move on (the processor waits for this call before delivering its next batch).
                await Redeliver.ExecuteAsync(async ct => await _handler!(batch, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }

            // Only now is the batch durable: move the checkpoint past it.
            await checkpoint(CheckpointPosition.FromEvent(last)).ConfigureAwait(false);
            if (Health is { Connected: false })
            {
                Health.OnConnected(HealthEndpoint);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the uncheckpointed tail is redelivered to whoever owns the partition next.
        }
        catch (Exception ex)
        {
            // Only the checkpoint write can end here: the batch is handled, and a later checkpoint covers it.
            LogCheckpointError(ex, partitionId);
        }
    }

    protected override Task OnProcessingErrorAsync(Exception exception, EventProcessorPartition partition, string operationDescription, CancellationToken cancellationToken)
    {
        LogProcessorError(exception, partition?.PartitionId ?? "-", operationDescription);
        Health?.OnDisconnected($"{operationDescription}: {exception.GetType().Name}: {exception.Message}");
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Event Hubs processor {Identifier} started")]
    private partial void LogStarted(string identifier);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "Batch handling failed; not checkpointed, handing it over again (attempt {Attempt})")]
    private partial void LogBatchError(Exception ex, int attempt);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "Checkpoint on partition {PartitionId} failed; the next batch's checkpoint covers it")]
    private partial void LogCheckpointError(Exception ex, string partitionId);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Event Hubs processor error on partition {PartitionId} during {Operation}")]
    private partial void LogProcessorError(Exception ex, string partitionId, string operation);
}
