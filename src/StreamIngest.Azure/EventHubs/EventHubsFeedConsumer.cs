using System.Text.Json;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Processor;
using Microsoft.Extensions.Logging;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// The process role's transport: an Event Hubs processor (load-balanced across instances through the
/// checkpoint store's ownership records) that hands each partition's batches to the pipeline and
/// checkpoints only after the handler returned, i.e. after the batch is durably stored (at-least-once;
/// replays after a crash are collapsed by the store's idempotent upserts). Handlers never throw.
/// </summary>
public sealed partial class EventHubsFeedConsumer : PluggableCheckpointStoreEventProcessor<EventProcessorPartition>, IFeedConsumer
{
    private readonly IDeadLetterStore _deadLetters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EventHubsFeedConsumer> _logger;
    private FeedBatchHandler? _handler;

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
    /// One partition batch: decode (undecodable events are dead-lettered), hand to the pipeline, and only
    /// when that returned, checkpoint past the last event. Never throws.
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
                    batch.Add(EventHubsFeedPublisher.FromEventData(data));
                }
                catch (JsonException ex)
                {
                    await _deadLetters.WriteAsync(
                        DeadLetter.Create("eventhubs", $"undecodable event: {ex.Message}", data.EventBody.ToString(), $"partition {partitionId} seq {data.SequenceNumber}", _timeProvider.GetUtcNow()),
                        cancellationToken).ConfigureAwait(false);
                }
            }

            if (last is null)
            {
                return;
            }

            if (batch.Count > 0)
            {
                await _handler!(batch, cancellationToken).ConfigureAwait(false);
            }

            // Only now is the batch durable: move the checkpoint past it.
            await checkpoint(CheckpointPosition.FromEvent(last)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Never throw from a handler; without a checkpoint the batch is delivered again.
            LogBatchError(ex, partitionId);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the uncheckpointed tail is redelivered to whoever owns the partition next.
        }
    }

    protected override Task OnProcessingErrorAsync(Exception exception, EventProcessorPartition partition, string operationDescription, CancellationToken cancellationToken)
    {
        LogProcessorError(exception, partition?.PartitionId ?? "-", operationDescription);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Event Hubs processor {Identifier} started")]
    private partial void LogStarted(string identifier);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "Batch on partition {PartitionId} failed; not checkpointed, it will be delivered again")]
    private partial void LogBatchError(Exception ex, string partitionId);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Event Hubs processor error on partition {PartitionId} during {Operation}")]
    private partial void LogProcessorError(Exception ex, string partitionId, string operation);
}
