using System.Threading.Channels;
using StreamIngest.Model;

namespace StreamIngest.Pipeline;

/// <summary>
/// Newly stored posts for live watchers (the dashboard's tail). Publishing costs one volatile read when nobody
/// watches; each watcher has a small bounded buffer that drops its oldest posts rather than slow the pipeline.
/// </summary>
public sealed class StoredPostTail
{
    private readonly Lock _gate = new();
    private Channel<Post>[] _watchers = [];

    public const int BufferPerWatcher = 256;

    public int Watchers => Volatile.Read(ref _watchers).Length;

    public void Publish(IReadOnlyList<Post> posts)
    {
        var watchers = Volatile.Read(ref _watchers);
        if (watchers.Length == 0)
        {
            return;
        }

        foreach (var watcher in watchers)
        {
            foreach (var post in posts)
            {
                watcher.Writer.TryWrite(post);
            }
        }
    }

    /// <summary>Posts stored from now on, until <paramref name="cancellationToken"/> ends the watch.</summary>
    public async IAsyncEnumerable<Post> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<Post>(new BoundedChannelOptions(BufferPerWatcher) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_gate)
        {
            _watchers = [.. _watchers, channel];
        }

        try
        {
            await foreach (var post in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return post;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers = [.. _watchers.Where(w => w != channel)];
            }
        }
    }
}
