using System.Diagnostics.Metrics;
using System.Text.Json;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Producer;
using Microsoft.Extensions.Logging;
using StreamIngest.Feeds.Health;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// The ingest role's transport: feed events to Event Hubs through <see cref="EventHubBufferedProducerClient"/>,
/// which batches and retries in the background. The partition key keeps a post's create, edits, likes and
/// delete in order (Bluesky: the author's DID, so one author's posts stay in order too). A batch the
/// client finally gives up on is dead-lettered event by event, never dropped silently. When the hub cannot be
/// reached (the client cannot start, or enqueueing fails), publishing waits and tries again with backoff
/// (1 s doubling to 60 s): the feed is held back, not ended, and <see cref="Health"/> says why.
/// </summary>
public sealed partial class EventHubsFeedPublisher : IFeedPublisher, IAsyncDisposable
{
    private readonly EventHubBufferedProducerClient _producer;
    private readonly IDeadLetterStore _deadLetters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EventHubsFeedPublisher> _logger;
    private readonly Counter<long> _sentCounter;
    private readonly Counter<long> _failedCounter;
    private long _sent;
    private long _failed;

    public const string MeterName = "StreamIngest.EventHubs";

    public EventHubsFeedPublisher(EventHubBufferedProducerClient producer, IDeadLetterStore deadLetters, IMeterFactory meters, TimeProvider timeProvider, ILogger<EventHubsFeedPublisher> logger)
    {
        _producer = producer;
        _deadLetters = deadLetters;
        _timeProvider = timeProvider;
        _logger = logger;
        var meter = meters.Create(MeterName);
        _sentCounter = meter.CreateCounter<long>("streamingest.eventhubs.published", "{event}", "Events the buffered producer sent");
        _failedCounter = meter.CreateCounter<long>("streamingest.eventhubs.publish_failed", "{event}", "Events the buffered producer gave up on (dead-lettered)");
        _producer.SendEventBatchSucceededAsync += args =>
        {
            Interlocked.Add(ref _sent, args.EventBatch.Count);
            _sentCounter.Add(args.EventBatch.Count);
            return Task.CompletedTask;
        };
        _producer.SendEventBatchFailedAsync += OnBatchFailedAsync;
    }

    /// <summary>Connection state and errors of the producer (shown in /v1/feeds and /health/ready); optional.</summary>
    public FeedHealth? Health { get; init; }

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Events enqueued but not yet sent.</summary>
    public int Buffered => _producer.TotalBufferedEventCount;

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
        var options = new EnqueueEventOptions { PartitionKey = feedEvent.PartitionKey };
        var delay = RetryDelay;
        while (true)
        {
            try
            {
                await _producer.EnqueueEventAsync(ToEventData(feedEvent), options, cancellationToken).ConfigureAwait(false);
                if (Health is { Connected: false })
                {
                    Health.OnConnected(_producer.FullyQualifiedNamespace + "/" + _producer.EventHubName);
                }

                return;
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or ArgumentException or ObjectDisposedException))
            {
                // The hub is unreachable, or the client could not start ("took too long to start"): hold the feed
                // back and try again; the event is not lost and the feed does not end.
                LogEnqueueFailed(ex, delay.TotalSeconds);
                Health?.OnDisconnected($"{ex.GetType().Name}: {ex.Message}");
            }

            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private async Task OnBatchFailedAsync(SendEventBatchFailedEventArgs args)
    {
        Interlocked.Add(ref _failed, args.EventBatch.Count);
        _failedCounter.Add(args.EventBatch.Count);
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

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Event Hubs did not take an event; trying again in {DelaySeconds} s")]
    private partial void LogEnqueueFailed(Exception ex, double delaySeconds);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Event Hubs gave up on a batch of {Count} events for partition {PartitionId}; dead-lettered")]
    private partial void LogBatchFailed(Exception ex, int count, string partitionId);
}
