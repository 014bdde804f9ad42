using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Producer;
using StreamIngest.TestBroker;
using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>The test broker, exercised only through the real Azure.Messaging.EventHubs clients.</summary>
public class TestBrokerTests
{
    [Fact]
    public async Task Producer_ReadsHubAndPartitionProperties()
    {
        using var broker = new EventHubsTestBroker("posts", 4);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var hub = await producer.GetEventHubPropertiesAsync(cts.Token);
        var partition = await producer.GetPartitionPropertiesAsync("2", cts.Token);

        Assert.Equal("posts", hub.Name);
        Assert.Equal(["0", "1", "2", "3"], hub.PartitionIds);
        Assert.True(partition.IsEmpty);
    }

    [Fact]
    public async Task SendThenRead_FromEarliest_ReturnsTheEventsInOrderWithSequenceNumbers()
    {
        using var broker = new EventHubsTestBroker("posts", 2);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        await using var consumer = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, broker.ConnectionString, "posts");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var batch = await producer.CreateBatchAsync(new CreateBatchOptions { PartitionId = "1" }, cts.Token);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(batch.TryAdd(new EventData(BinaryData.FromString($"event {i}"))));
        }

        await producer.SendAsync(batch, cts.Token);
        Assert.Equal([0, 5], broker.Counts);
        var read = new List<PartitionEvent>();
        await foreach (var e in consumer.ReadEventsFromPartitionAsync("1", EventPosition.Earliest, cts.Token))
        {
            read.Add(e);
            if (read.Count == 5)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"event {i}"), read.Select(e => e.Data.EventBody.ToString()));
        Assert.Equal([0L, 1, 2, 3, 4], read.Select(e => e.Data.SequenceNumber));
        Assert.Equal(4, (await producer.GetPartitionPropertiesAsync("1", cts.Token)).LastEnqueuedSequenceNumber);
    }
}

/// <summary>Positions, partition keys, owner level, runtime metrics and large backlogs, through the real SDK.</summary>
public class TestBrokerReceiveTests
{
    private static async Task SendAsync(EventHubProducerClient producer, int count, SendEventOptions options, int from = 0)
    {
        var events = Enumerable.Range(from, count).Select(i => new EventData(BinaryData.FromString($"event {i}"))).ToList();
        for (var i = 0; i < events.Count; i += 500)
        {
            await producer.SendAsync(events.Skip(i).Take(500), options);
        }
    }

    private static async Task<List<PartitionEvent>> ReadAsync(EventHubConsumerClient consumer, string partition, EventPosition position, int count, ReadEventOptions? options = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var read = new List<PartitionEvent>();
        await foreach (var e in consumer.ReadEventsFromPartitionAsync(partition, position, options ?? new ReadEventOptions(), cts.Token))
        {
            read.Add(e);
            if (read.Count == count)
            {
                break;
            }
        }

        return read;
    }

    [Fact]
    public async Task PartitionKey_SendsOneKeysEventsToOnePartition()
    {
        using var broker = new EventHubsTestBroker("posts", 4);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");

        await SendAsync(producer, 30, new SendEventOptions { PartitionKey = "did:plc:author" });

        Assert.Equal(30, broker.Counts.Max());
        Assert.Equal(30, broker.Counts.Sum());
    }

    [Fact]
    public async Task EventPositions_SequenceNumberOffsetEnqueuedTimeAndLatest_StartWhereAsked()
    {
        using var broker = new EventHubsTestBroker("posts", 1);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        await using var consumer = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, broker.ConnectionString, "posts");
        await SendAsync(producer, 10, new SendEventOptions { PartitionId = "0" });
        var all = await ReadAsync(consumer, "0", EventPosition.Earliest, 10);

        var afterSeq = await ReadAsync(consumer, "0", EventPosition.FromSequenceNumber(6, isInclusive: false), 1);
        var atSeq = await ReadAsync(consumer, "0", EventPosition.FromSequenceNumber(6, isInclusive: true), 1);
        var afterOffset = await ReadAsync(consumer, "0", EventPosition.FromOffset(all[3].Data.OffsetString, isInclusive: false), 1);
        var fromTime = await ReadAsync(consumer, "0", EventPosition.FromEnqueuedTime(DateTimeOffset.UtcNow.AddMinutes(-5)), 1);
        var attached = broker.ReceiversAttached;
        var latestTask = ReadAsync(consumer, "0", EventPosition.Latest, 1);
        // The Latest reader's position is fixed when its link attaches.
        await Eventually.UntilAsync(() => broker.ReceiversAttached > attached, TimeSpan.FromSeconds(30), "the Latest reader's link");

        await SendAsync(producer, 1, new SendEventOptions { PartitionId = "0" }, from: 100);
        var latest = await latestTask;

        Assert.Equal(7, afterSeq.Single().Data.SequenceNumber);
        Assert.Equal(6, atSeq.Single().Data.SequenceNumber);
        Assert.Equal(4, afterOffset.Single().Data.SequenceNumber);
        Assert.Equal(0, fromTime.Single().Data.SequenceNumber);
        Assert.Equal("event 100", latest.Single().Data.EventBody.ToString());
    }

    [Fact]
    public async Task Backlog_FarLargerThanTheCreditWindow_IsReadCompletelyInOrder()
    {
        using var broker = new EventHubsTestBroker("posts", 1);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        await using var consumer = new EventHubConsumerClient("process", broker.ConnectionString, "posts");
        await SendAsync(producer, 6000, new SendEventOptions { PartitionId = "0" });

        var read = await ReadAsync(consumer, "0", EventPosition.Earliest, 6000, new ReadEventOptions { PrefetchCount = 100 });

        Assert.Equal(Enumerable.Range(0, 6000).Select(i => (long)i), read.Select(e => e.Data.SequenceNumber));
    }

    [Fact]
    public async Task TrackLastEnqueuedEventProperties_ReportsThePartitionsNewestEvent()
    {
        using var broker = new EventHubsTestBroker("posts", 1);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        await using var consumer = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, broker.ConnectionString, "posts");
        await SendAsync(producer, 5, new SendEventOptions { PartitionId = "0" });

        var first = (await ReadAsync(consumer, "0", EventPosition.Earliest, 1, new ReadEventOptions { TrackLastEnqueuedEventProperties = true })).Single();

        Assert.Equal(4, first.Partition.ReadLastEnqueuedEventProperties().SequenceNumber);
    }

    [Fact]
    public async Task OwnerLevel_AHigherOwnerDisconnectsTheLowerOne()
    {
        using var broker = new EventHubsTestBroker("posts", 1);
        await using var producer = new EventHubProducerClient(broker.ConnectionString, "posts");
        await using var low = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, broker.ConnectionString, "posts");
        await using var high = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, broker.ConnectionString, "posts");
        await SendAsync(producer, 3, new SendEventOptions { PartitionId = "0" });

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var lowReads = 0;
        var lowTask = Task.Run(async () =>
        {
            await foreach (var _ in low.ReadEventsFromPartitionAsync("0", EventPosition.Earliest, new ReadEventOptions { OwnerLevel = 1 }, cts.Token))
            {
                Interlocked.Increment(ref lowReads);
            }
        });
        await Eventually.UntilAsync(() => Volatile.Read(ref lowReads) >= 3, TimeSpan.FromSeconds(30), "the lower owner to read the 3 events");

        // The higher owner keeps reading for as long as the lower one is alive, as a real owner would.
        using var highStop = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var highReads = 0;
        var highTask = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in high.ReadEventsFromPartitionAsync("0", EventPosition.Earliest, new ReadEventOptions { OwnerLevel = 2 }, highStop.Token))
                {
                    Interlocked.Increment(ref highReads);
                }
            }
            catch (TaskCanceledException)
            {
                // stopped below
            }
        });
        var ex = await Assert.ThrowsAsync<EventHubsException>(() => lowTask);
        await Eventually.UntilAsync(() => Volatile.Read(ref highReads) >= 3, TimeSpan.FromSeconds(30), "the higher owner to read the 3 events");

        await highStop.CancelAsync();
        await highTask;

        Assert.Equal(3, Volatile.Read(ref highReads));
        Assert.Equal(EventHubsException.FailureReason.ConsumerDisconnected, ex.Reason);
    }
}
