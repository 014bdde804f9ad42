using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Model;
using StreamIngest.Transport;

namespace StreamIngest.Core.Tests.Transport;

public class ChannelFeedTransportTests
{
    private static FeedEvent E(int i) => FeedEvent.Upsert(StandardEnricherTests.NewPost("t", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public async Task OldestWaiting_IsTheAgeOfTheFirstEventNotYetTaken()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var transport = new ChannelFeedTransport(capacity: 10, maxBatch: 1, time);
        Assert.Equal(TimeSpan.Zero, transport.OldestWaiting);

        await transport.PublishAsync(E(1), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(3));
        await transport.PublishAsync(E(2), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(4), transport.OldestWaiting);

        var taken = new TaskCompletionSource();
        using var cts = new CancellationTokenSource();
        var consume = transport.ConsumeAsync(async (batch, ct) =>
        {
            taken.TrySetResult(); // the first batch (one event) is taken; the second waits behind it
            await Task.Delay(Timeout.Infinite, ct);
        }, cts.Token);
        await taken.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(1), transport.OldestWaiting);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consume);
    }

    [Fact]
    public async Task PublishAsync_WhenFull_WaitsUntilTheConsumerTakesABatch()
    {
        var transport = new ChannelFeedTransport(capacity: 2, maxBatch: 10);
        await transport.PublishAsync(E(1), CancellationToken.None);
        await transport.PublishAsync(E(2), CancellationToken.None);

        // A full bounded channel answers a write with a pending task at once (with room it completes synchronously).
        var third = transport.PublishAsync(E(3), CancellationToken.None).AsTask();

        Assert.False(third.IsCompleted);
        Assert.Equal(2, transport.Backlog);
        var batches = new List<int>();
        var release = new TaskCompletionSource();
        using var cts = new CancellationTokenSource();
        var consume = transport.ConsumeAsync(async (batch, ct) =>
        {
            batches.Add(batch.Count);
            if (batches.Sum() == 3)
            {
                release.SetResult();
            }

            await Task.CompletedTask;
        }, cts.Token);
        await third;
        await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consume);
        Assert.Equal(3, batches.Sum());
    }

    [Fact]
    public async Task ConsumeAsync_Backlog_IsHandedOverInBatchesOfAtMostMaxBatch()
    {
        var transport = new ChannelFeedTransport(capacity: 100, maxBatch: 8);
        for (var i = 0; i < 20; i++)
        {
            await transport.PublishAsync(E(i), CancellationToken.None);
        }

        transport.Complete();
        var batches = new List<IReadOnlyList<FeedEvent>>();
        await transport.ConsumeAsync((batch, _) =>
        {
            batches.Add(batch);
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal([8, 8, 4], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"test:{i}"), batches.SelectMany(b => b).Select(e => e.PostId));
    }
}
