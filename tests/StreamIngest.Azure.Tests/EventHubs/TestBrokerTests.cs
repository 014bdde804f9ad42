using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Producer;
using StreamIngest.TestBroker;

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
