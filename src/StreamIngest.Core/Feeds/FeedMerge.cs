using System.Runtime.CompilerServices;
using System.Threading.Channels;
using StreamIngest.Model;

namespace StreamIngest.Feeds;

/// <summary>A feed made of several background loops (streams, polls) that write into one bounded channel.</summary>
public delegate Task FeedLoop(ChannelWriter<FeedEvent> writer, CancellationToken cancellationToken);

public static class FeedMerge
{
    /// <summary>
    /// Starts the loops and yields what they write until all of them have ended. When the reader stops
    /// (shutdown, or a caller that has read enough) the loops are cancelled, so none outlives its feed;
    /// a loop that fails ends the feed with its exception rather than silently.
    /// </summary>
    public static async IAsyncEnumerable<FeedEvent> ReadAllAsync(
        int capacity, IEnumerable<FeedLoop> loops, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var merged = Channel.CreateBounded<FeedEvent>(capacity);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = Task.WhenAll(loops.Select(loop => loop(merged.Writer, stop.Token)).ToArray());
        _ = running.ContinueWith(t => merged.Writer.TryComplete(t.IsFaulted ? t.Exception!.GetBaseException() : null), TaskScheduler.Default);
        try
        {
            await foreach (var e in merged.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }
}
