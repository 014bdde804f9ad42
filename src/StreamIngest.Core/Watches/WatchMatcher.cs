using System.Numerics.Tensors;
using StreamIngest.Model;

namespace StreamIngest.Watches;

/// <summary>
/// Matches each stored batch against every watch in memory: one dot product per (post, watch) on the vectors the
/// pipeline already computed, never a query per post per watch. Called by the process stage after the write and
/// before the cursor moves, so a match is recorded at least once. Wakes the event streams and the webhook worker of
/// this process; other processes sharing the store (the distributed roles) read new events on their next poll.
/// </summary>
public sealed class WatchMatcher(IWatchStore store, TimeProvider timeProvider)
{
    private volatile Loaded? _watches;
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// How long the list of watches is kept before it is read again: watches added or deleted by another process
    /// (the API role, when this is the process role) take effect within this time. In one process,
    /// <see cref="Reload"/> makes them take effect at once.
    /// </summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Call after a watch is added or deleted.</summary>
    public void Reload() => _watches = null;

    /// <summary>The watches as last read (at most <see cref="RefreshInterval"/> old): what the webhook worker delivers for too.</summary>
    public async Task<IReadOnlyList<Watch>> ListAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken).ConfigureAwait(false);

    private async Task<Watch[]> LoadAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_watches is not { } loaded || now - loaded.At >= RefreshInterval)
        {
            _watches = loaded = new Loaded([.. await store.ListAsync(cancellationToken).ConfigureAwait(false)], now);
        }

        return loaded.Watches;
    }

    public async Task<int> MatchAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
    {
        var watches = await LoadAsync(cancellationToken).ConfigureAwait(false);
        if (watches.Length == 0 || posts.Count == 0)
        {
            return 0;
        }

        var matches = new List<(string, string, double)>();
        foreach (var post in posts)
        {
            if (post.Embedding is not { } vector)
            {
                continue;
            }

            foreach (var watch in watches)
            {
                if (watch.Vector.Length != vector.Length)
                {
                    continue; // made with another model: re-created watches match again
                }

                if (post.ReceivedAt < watch.CreatedAt)
                {
                    continue; // received before the watch existed: a redelivered or replayed post is not news to it
                }

                var score = TensorPrimitives.Dot(watch.Vector, vector);
                if (score >= watch.MinScore && watch.Accepts(post))
                {
                    matches.Add((watch.Id, post.Id, Math.Round(score, 4)));
                }
            }
        }

        if (matches.Count == 0)
        {
            return 0;
        }

        var added = await store.AppendEventsAsync(matches, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _appended, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return added;
    }

    /// <summary>Completes when events are next recorded (or the token ends the wait).</summary>
    public Task WaitForEventsAsync(CancellationToken cancellationToken) => Volatile.Read(ref _appended).Task.WaitAsync(cancellationToken);

    private sealed record Loaded(Watch[] Watches, DateTimeOffset At);
}
