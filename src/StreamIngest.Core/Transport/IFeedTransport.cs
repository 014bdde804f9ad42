using StreamIngest.Model;

namespace StreamIngest.Transport;

/// <summary>Publishing side of the transport, used by the ingest role.</summary>
public interface IFeedPublisher
{
    /// <summary>Hands one event to the transport; waits (backpressure) when the transport is full.</summary>
    ValueTask PublishAsync(FeedEvent feedEvent, CancellationToken cancellationToken);
}

/// <summary>Handles one batch; when it returns normally the batch is durable and may be checkpointed.</summary>
public delegate Task FeedBatchHandler(IReadOnlyList<FeedEvent> batch, CancellationToken cancellationToken);

/// <summary>
/// Consuming side of the transport, used by the process role. The transport calls the handler with
/// batches and advances its checkpoint only after the handler returned (at-least-once delivery).
/// In-process this is a bounded channel; distributed it is an Event Hubs processor over partitions.
/// </summary>
public interface IFeedConsumer
{
    Task ConsumeAsync(FeedBatchHandler handler, CancellationToken cancellationToken);

    /// <summary>Events accepted but not yet handed to a handler, when the transport can tell (else null).</summary>
    long? Backlog { get; }

    /// <summary>How long the oldest event not yet handed to a handler has waited, when the transport can tell (else null).</summary>
    TimeSpan? OldestWaiting => null;
}
