using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Processor;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>The processor's batch handling: decode, hand over, and checkpoint only after the handler returned.</summary>
public class EventHubsFeedConsumerTests
{
    private sealed class NoStore : CheckpointStore
    {
        public override Task<IEnumerable<EventProcessorPartitionOwnership>> ListOwnershipAsync(string a, string b, string c, CancellationToken ct) => Task.FromResult(Enumerable.Empty<EventProcessorPartitionOwnership>());

        public override Task<IEnumerable<EventProcessorPartitionOwnership>> ClaimOwnershipAsync(IEnumerable<EventProcessorPartitionOwnership> d, CancellationToken ct) => Task.FromResult(Enumerable.Empty<EventProcessorPartitionOwnership>());

        public override Task<EventProcessorCheckpoint?> GetCheckpointAsync(string a, string b, string c, string d, CancellationToken ct) => Task.FromResult<EventProcessorCheckpoint?>(null);

        [Obsolete("test double")]
        public override Task UpdateCheckpointAsync(string a, string b, string c, string d, long e, long? f, CancellationToken ct) => Task.CompletedTask;
    }

    private static EventData Event(FeedEvent e, long seq) =>
        EventHubsModelFactory.EventData(new BinaryData(EventHubsFeedPublisher.ToEventData(e).EventBody.ToArray()), null, null, null, seq, (seq * 100).ToString(System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow);

    private static EventHubsFeedConsumer Consumer(ListDeadLetters dead) =>
        new(new NoStore(), 64, "$Default", "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true", "posts",
            new EventProcessorOptions(), dead, TimeProvider.System, NullLogger<EventHubsFeedConsumer>.Instance);

    [Fact]
    public async Task HandleBatchAsync_DecodesHandsOverAndThenCheckpointsPastTheLastEvent()
    {
        var dead = new ListDeadLetters();
        var consumer = Consumer(dead);
        var order = new List<string>();
        IReadOnlyList<FeedEvent>? handed = null;
        consumer.Handler = (batch, _) =>
        {
            order.Add("handler");
            handed = batch;
            return Task.CompletedTask;
        };
        CheckpointPosition? position = null;
        var undecodable = EventHubsModelFactory.EventData(new BinaryData("not json"u8.ToArray()), null, null, null, 11, "1100", DateTimeOffset.UtcNow);

        await consumer.HandleBatchAsync(
            [Event(FeedEvent.Delete("x:1"), 10), undecodable, Event(FeedEvent.Delete("x:2"), 12)],
            "0",
            p =>
            {
                order.Add("checkpoint");
                position = p;
                return Task.CompletedTask;
            },
            CancellationToken.None);

        Assert.Equal(["handler", "checkpoint"], order);
        Assert.Equal(["x:1", "x:2"], handed!.Select(e => e.PostId));
        Assert.Equal(12, position!.Value.SequenceNumber);
        Assert.StartsWith("undecodable event", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandleBatchAsync_HandlerFails_NoCheckpointAndNoThrow()
    {
        var consumer = Consumer(new ListDeadLetters());
        consumer.Handler = (_, _) => throw new IOException("store down");
        var checkpointed = false;

        await consumer.HandleBatchAsync([Event(FeedEvent.Delete("x:1"), 1)], "0", _ =>
        {
            checkpointed = true;
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.False(checkpointed);
    }
}
