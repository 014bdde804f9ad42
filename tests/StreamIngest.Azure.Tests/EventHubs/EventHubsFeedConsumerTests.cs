using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Processor;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
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

    private static EventHubsFeedConsumer Consumer(ListDeadLetters dead, TimeProvider? time = null) =>
        new(new NoStore(), 64, "$Default", "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true", "posts",
            new EventProcessorOptions(), dead, time ?? TimeProvider.System, NullLogger<EventHubsFeedConsumer>.Instance);

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
        Assert.Equal([new TransportPosition("eventhubs/0", 10), new TransportPosition("eventhubs/0", 12)], handed!.Select(e => e.Position)); // likes are counted once by it
        Assert.Equal(12, position!.Value.SequenceNumber);
        Assert.StartsWith("undecodable event", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandleBatchAsync_HandlerFails_HandsTheSameBatchOverAgainUntilItIsDurableThenCheckpoints()
    {
        var time = new FakeTimeProvider();
        var consumer = Consumer(new ListDeadLetters(), time);
        var attempts = new List<string>();
        consumer.Handler = (batch, _) =>
        {
            attempts.Add(string.Join(",", batch.Select(e => e.PostId)));
            return attempts.Count < 3 ? throw new IOException("store down") : Task.CompletedTask;
        };
        var checkpoints = new List<long>();

        var handling = consumer.HandleBatchAsync([Event(FeedEvent.Delete("x:1"), 1), Event(FeedEvent.Delete("x:2"), 2)], "0", p =>
        {
            checkpoints.Add(p.SequenceNumber);
            return Task.CompletedTask;
        }, CancellationToken.None);
        while (!handling.IsCompleted)
        {
            Assert.Empty(checkpoints); // nothing moves past the batch while it is not handled
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(handling, Task.Delay(5));
        }

        await handling;
        Assert.Equal(["x:1,x:2", "x:1,x:2", "x:1,x:2"], attempts);
        Assert.Equal([2L], checkpoints);
    }

    [Fact]
    public async Task HandleBatchAsync_HandlerFailsUntilShutdown_NoCheckpointAndNoThrow()
    {
        var time = new FakeTimeProvider();
        var consumer = Consumer(new ListDeadLetters(), time);
        var attempts = 0;
        consumer.Handler = (_, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new IOException("store down");
        };
        var checkpointed = false;
        using var stopping = new CancellationTokenSource();

        var handling = consumer.HandleBatchAsync([Event(FeedEvent.Delete("x:1"), 1)], "0", _ =>
        {
            checkpointed = true;
            return Task.CompletedTask;
        }, stopping.Token);
        while (Volatile.Read(ref attempts) < 2)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(handling, Task.Delay(5));
        }

        await stopping.CancelAsync();
        await handling;

        Assert.False(checkpointed);
    }
}
