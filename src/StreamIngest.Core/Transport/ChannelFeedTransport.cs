using System.Threading.Channels;
using StreamIngest.Model;

namespace StreamIngest.Transport;

/// <summary>
/// In-process transport: a bounded channel with <see cref="BoundedChannelFullMode.Wait"/>, so a slow
/// processor pushes back on the feeds instead of dropping or growing without bound.
/// </summary>
public sealed class ChannelFeedTransport : IFeedPublisher, IFeedConsumer
{
    private readonly Channel<FeedEvent> _channel;
    private readonly int _maxBatch;

    public ChannelFeedTransport(int capacity, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _maxBatch = maxBatch;
        _channel = Channel.CreateBounded<FeedEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    public long? Backlog => _channel.Reader.Count;

    public ValueTask PublishAsync(FeedEvent feedEvent, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(feedEvent, cancellationToken);

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
                batch.Add(item);
            }

            await handler(batch.ToArray(), cancellationToken).ConfigureAwait(false);
            batch.Clear();
        }
    }
}
