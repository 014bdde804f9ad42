using System.Text.Json;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Producer;
using Microsoft.Extensions.Logging;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// The ingest role's transport: feed events to Event Hubs through <see cref="EventHubBufferedProducerClient"/>,
/// which batches and retries in the background. The partition key keeps a post's create, edits, likes and
/// delete in order (Bluesky: the author's DID, so one author's posts stay in order too). A batch the
/// client finally gives up on is dead-lettered event by event, never dropped silently.
/// </summary>
public sealed partial class EventHubsFeedPublisher : IFeedPublisher, IAsyncDisposable
{
    private readonly EventHubBufferedProducerClient _producer;
    private readonly IDeadLetterStore _deadLetters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EventHubsFeedPublisher> _logger;
    private long _sent;
    private long _failed;

    public const string MeterName = "StreamIngest.EventHubs";

    private static readonly System.Diagnostics.Metrics.Meter Meter = new(MeterName);
    private static readonly System.Diagnostics.Metrics.Counter<long> SentCounter =
        Meter.CreateCounter<long>("streamingest.eventhubs.published", "{event}", "Events the buffered producer sent");
    private static readonly System.Diagnostics.Metrics.Counter<long> FailedCounter =
        Meter.CreateCounter<long>("streamingest.eventhubs.publish_failed", "{event}", "Events the buffered producer gave up on (dead-lettered)");

    public EventHubsFeedPublisher(EventHubBufferedProducerClient producer, IDeadLetterStore deadLetters, TimeProvider timeProvider, ILogger<EventHubsFeedPublisher> logger)
    {
        _producer = producer;
        _deadLetters = deadLetters;
        _timeProvider = timeProvider;
        _logger = logger;
        _producer.SendEventBatchSucceededAsync += args =>
        {
            Interlocked.Add(ref _sent, args.EventBatch.Count);
            SentCounter.Add(args.EventBatch.Count);
            return Task.CompletedTask;
        };
        _producer.SendEventBatchFailedAsync += OnBatchFailedAsync;
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Events enqueued but not yet sent.</summary>
    public int Buffered => _producer.TotalBufferedEventCount;

    public static string PartitionKeyFor(FeedEvent e)
    {
        // bsky:did:plc:xyz/rkey → the author's DID; other sources → the post id itself.
        if (e.PostId.StartsWith("bsky:", StringComparison.Ordinal) && e.PostId.IndexOf('/', StringComparison.Ordinal) is var slash and > 5)
        {
            return e.PostId[5..slash];
        }

        return e.PostId;
    }

    public static EventData ToEventData(FeedEvent e)
    {
        var data = new EventData(JsonSerializer.SerializeToUtf8Bytes(e, PostJson.Options))
        {
            ContentType = "application/json",
            MessageId = e.PostId,
        };
        data.Properties["kind"] = e.Kind.ToString();
        return data;
    }

    public static FeedEvent FromEventData(EventData data) =>
        JsonSerializer.Deserialize<FeedEvent>(data.EventBody.ToMemory().Span, PostJson.Options)
        ?? throw new JsonException("event body is null");

    public async ValueTask PublishAsync(FeedEvent feedEvent, CancellationToken cancellationToken)
    {
        await _producer.EnqueueEventAsync(ToEventData(feedEvent), new EnqueueEventOptions { PartitionKey = PartitionKeyFor(feedEvent) }, cancellationToken).ConfigureAwait(false);
    }

    private async Task OnBatchFailedAsync(SendEventBatchFailedEventArgs args)
    {
        Interlocked.Add(ref _failed, args.EventBatch.Count);
        FailedCounter.Add(args.EventBatch.Count);
        LogBatchFailed(args.Exception, args.EventBatch.Count, args.PartitionId);
        foreach (var data in args.EventBatch)
        {
            await _deadLetters.WriteAsync(
                DeadLetter.Create("eventhubs", $"publish failed: {args.Exception.GetType().Name}: {args.Exception.Message}", data.EventBody.ToString(), $"partition {args.PartitionId}", _timeProvider.GetUtcNow()),
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Flush what is buffered before the process goes.
        await _producer.CloseAsync(flush: true).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Event Hubs gave up on a batch of {Count} events for partition {PartitionId}; dead-lettered")]
    private partial void LogBatchFailed(Exception ex, int count, string partitionId);
}
