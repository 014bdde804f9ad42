using System.Threading.Channels;
using StreamIngest.Model;

namespace StreamIngest.Transport;

/// <summary>
/// In-process transport: a bounded channel with <see cref="BoundedChannelFullMode.Wait"/>, so a slow
/// processor pushes back on the feeds instead of dropping or growing without bound.
/// </summary>
public sealed class ChannelFeedTransport : IFeedPublisher, IFeedConsumer
{
    private readonly Channel<Waiting> _channel;
    private readonly int _maxBatch;
    private readonly TimeProvider _time;

    public ChannelFeedTransport(int capacity, int maxBatch, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _maxBatch = maxBatch;
        _channel = Channel.CreateBounded<Waiting>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    public long? Backlog => _channel.Reader.Count;

    public TimeSpan? OldestWaiting => _channel.Reader.TryPeek(out var oldest) ? _time.GetElapsedTime(oldest.At) : TimeSpan.Zero;

    public ValueTask PublishAsync(FeedEvent feedEvent, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(new Waiting(feedEvent, _time.GetTimestamp()), cancellationToken);

    /// <summary>No more events will be published (used by benchmarks and tests to drain).</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public async Task ConsumeAsync(FeedBatchHandler handler, CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        var batch = new List<FeedEvent>(_maxBatch);
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Take whatever is waiting, up to one batch: small batches when idle (low latency),
            // full ones under load (throughput), never waiting to fill.
            while (batch.Count < _maxBatch && reader.TryRead(out var item))
            {
                batch.Add(item.Event);
            }

            await handler(batch.ToArray(), cancellationToken).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>An event and when it was published (for <see cref="OldestWaiting"/>).</summary>
    private readonly record struct Waiting(FeedEvent Event, long At);
}
