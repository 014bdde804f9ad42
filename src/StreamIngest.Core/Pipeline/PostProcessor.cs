using Microsoft.Extensions.Logging;
using Polly;
using StreamIngest.Embed;
using StreamIngest.Enrich;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Pipeline;

/// <summary>
/// The process stage for one batch: enrich → collapse exact duplicates → embed → store → advance cursors.
/// Returns only when the batch is durable; cursors move only after the store write succeeded.
/// Bad posts are dead-lettered and never fail the batch; infrastructure failures propagate so the
/// transport does not checkpoint.
/// </summary>
public sealed partial class PostProcessor(
    IEnumerable<IEnricher> enrichers,
    IEmbedder embedder,
    IPostStore store,
    ICursorStore cursors,
    IDeadLetterStore deadLetters,
    PipelineMetrics metrics,
    TimeProvider timeProvider,
    ILogger<PostProcessor> logger,
    StoredPostTail? tail = null,
    IEnumerable<ISignalEnricher>? signalEnrichers = null,
    IEntityCountStore? entityCounts = null,
    Watches.WatchMatcher? watches = null)
{
    private DateTimeOffset _countsPurgedAt = DateTimeOffset.MinValue;

    private readonly IEnricher[] _enrichers = [.. enrichers];
    private readonly ISignalEnricher[] _signals = [.. signalEnrichers ?? []];

    public async Task HandleAsync(IReadOnlyList<FeedEvent> batch, CancellationToken cancellationToken)
    {
        // The last event for an id wins within a batch (a create then a delete is a delete);
        // engagement events add up instead, and are applied after the posts they may refer to.
        var last = new Dictionary<string, FeedEvent>(batch.Count, StringComparer.Ordinal);
        var engagement = new Dictionary<string, IReadOnlyList<EngagementEvent>>(StringComparer.Ordinal);
        foreach (var e in batch)
        {
            if (e.Kind == FeedEventKind.Engage)
            {
                if (e.Engagement is { } d)
                {
                    if (!engagement.TryGetValue(e.PostId, out var forPost))
                    {
                        engagement[e.PostId] = forPost = new List<EngagementEvent>();
                    }

                    ((List<EngagementEvent>)forPost).Add(new EngagementEvent(d, e.Position));
                }

                continue;
            }

            last[e.PostId] = e;
        }

        var posts = new List<Post>(last.Count);
        var deletes = new List<string>();
        var events = last.Values.ToArray();
        var reasons = EnrichAll(events, cancellationToken);
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            if (e.Kind == FeedEventKind.Delete || e.Post is null)
            {
                deletes.Add(e.PostId);
                continue;
            }

            var reason = reasons[i];
            if (reason is null)
            {
                posts.Add(e.Post);
                continue;
            }

            LogRejected(e.PostId, reason);
            await deadLetters.WriteAsync(
                DeadLetter.Create(e.Post.Provenance.Adapter, reason, e.Post.Text, e.PostId, timeProvider.GetUtcNow()),
                cancellationToken).ConfigureAwait(false);
        }

        if (posts.Count > 0)
        {
            await EmbedAsync(posts, cancellationToken).ConfigureAwait(false);
            await ApplySignalsAsync(posts, cancellationToken).ConfigureAwait(false);
        }

        if (posts.Count > 0)
        {
            await store.UpsertAsync(posts, cancellationToken).ConfigureAwait(false);
            var now = timeProvider.GetUtcNow();
            foreach (var p in posts)
            {
                metrics.RecordStored(p.CreatedAt, now - p.ReceivedAt);
            }

            tail?.Publish(posts);
            await CountEntitiesAsync(posts, cancellationToken).ConfigureAwait(false);
        }

        if (deletes.Count > 0)
        {
            var removed = await store.DeleteAsync(deletes, cancellationToken).ConfigureAwait(false);
            metrics.RecordDeleted(removed);
        }

        if (engagement.Count > 0)
        {
            await store.AddEngagementAsync(engagement, cancellationToken).ConfigureAwait(false);
        }

        // Last, once posts, deletes and likes are durable: a watch store that fails cannot cost any of them.
        await MatchWatchesAsync(posts, cancellationToken).ConfigureAwait(false);
        await AdvanceCursorsAsync(batch, cancellationToken).ConfigureAwait(false);
        metrics.RecordProcessed(batch.Count);
    }

    /// <summary>
    /// Retries of watch matching alone ("watch-match"), so a throttled or racing watch store never sends the whole
    /// batch (and its engagement) round again.
    /// </summary>
    public static readonly ResiliencePipeline DefaultWatchRetry = BatchRetries.Jittered("watch-match", 4);

    public ResiliencePipeline WatchRetry { get; init; } = DefaultWatchRetry;

    /// <summary>
    /// Records the stored posts' matches (at least once, once per watch and post: the store keys them). When the
    /// watch store still fails after <see cref="WatchRetry"/>, the posts stay stored and the batch goes on; one dead
    /// letter (source <c>watches</c>) names the posts whose matches were not recorded, so an operator can see and
    /// replay them.
    /// </summary>
    private async Task MatchWatchesAsync(List<Post> posts, CancellationToken cancellationToken)
    {
        if (watches is null || posts.Count == 0)
        {
            return;
        }

        try
        {
            await WatchRetry.ExecuteAsync(
                static async (state, token) => await state.watches.MatchAsync(state.posts, token).ConfigureAwait(false),
                (watches, posts),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogWatchMatchFailed(ex, posts.Count);
            await deadLetters.WriteAsync(
                DeadLetter.Create(
                    "watches",
                    $"watch matching failed after retries ({ex.GetType().Name}: {ex.Message}); the posts are stored, their watch events were not recorded",
                    string.Join("\n", posts.Select(p => p.Id)),
                    posts[0].Id,
                    timeProvider.GetUtcNow()),
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Batches from this many posts are enriched on every core (each post is enriched on its own).</summary>
    internal const int ParallelEnrichFrom = 8;

    /// <summary>
    /// Each post's rejection reason (null: enriched and kept), in the batch's order. Enrichers hold no state between
    /// posts (the <see cref="IEnricher"/> contract), so a large batch's posts are enriched on every core at once:
    /// language detection alone costs ~0.2–0.6 ms a post, and one core doing it for 64 posts held up the embedder.
    /// </summary>
    private string?[] EnrichAll(FeedEvent[] events, CancellationToken cancellationToken)
    {
        var reasons = new string?[events.Length];
        void One(int i)
        {
            if (events[i] is { Kind: not FeedEventKind.Delete, Post: { } post })
            {
                reasons[i] = Enrich(post);
            }
        }

        if (events.Length >= ParallelEnrichFrom)
        {
            Parallel.For(0, events.Length, new ParallelOptions { CancellationToken = cancellationToken }, One);
        }
        else
        {
            for (var i = 0; i < events.Length; i++)
            {
                One(i);
            }
        }

        return reasons;
    }

    private string? Enrich(Post post)
    {
        foreach (var enricher in _enrichers)
        {
            string? reason;
            try
            {
                reason = enricher.Enrich(post);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // An enricher bug must cost one post, not the worker.
                reason = $"{enricher.GetType().Name} failed: {ex.GetType().Name}: {ex.Message}";
            }

            if (reason is not null)
            {
                return reason;
            }
        }

        return null;
    }

    /// <summary>
    /// Adds the batch to the per-entity bucket counts that bursts are computed from. Counts are a signal, not the
    /// record: a failure is logged and never fails the batch (its posts are already stored), and a redelivered
    /// batch counts again.
    /// </summary>
    private async Task CountEntitiesAsync(List<Post> posts, CancellationToken ct)
    {
        if (entityCounts is null)
        {
            return;
        }

        try
        {
            await entityCounts.AddAsync(Bursts.CountsOf(posts), ct).ConfigureAwait(false);
            var now = timeProvider.GetUtcNow();
            if (now - _countsPurgedAt > TimeSpan.FromMinutes(10))
            {
                _countsPurgedAt = now;
                await entityCounts.PurgeAsync(now - Bursts.Baseline - TimeSpan.FromDays(1), ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCountsFailed(ex);
        }
    }

    /// <summary>Enrichers that read the embedding; a post one of them rejects is dead-lettered and not stored.</summary>
    private async Task ApplySignalsAsync(List<Post> posts, CancellationToken ct)
    {
        if (_signals.Length == 0)
        {
            return;
        }

        for (var i = posts.Count - 1; i >= 0; i--)
        {
            var post = posts[i];
            string? reason = null;
            foreach (var signal in _signals)
            {
                try
                {
                    reason = signal.Enrich(post);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    reason = $"{signal.GetType().Name} failed: {ex.GetType().Name}: {ex.Message}";
                }

                if (reason is not null)
                {
                    break;
                }
            }

            if (reason is not null)
            {
                posts.RemoveAt(i);
                LogRejected(post.Id, reason);
                await deadLetters.WriteAsync(DeadLetter.Create(post.Provenance.Adapter, reason, post.Text, post.Id, timeProvider.GetUtcNow()), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task EmbedAsync(List<Post> posts, CancellationToken ct)
    {
        // Exact duplicates (same content hash) share one embedding: from the store, or from earlier in this batch.
        // A post delivered again (a restart, a transport's redelivery) keeps the vector it was stored with: embedding
        // it again would cost a remote endpoint's tokens for the same vector.
        var hashes = posts.Select(p => p.ContentHash).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var known = await store.FindByContentHashAsync(hashes, ct).ConfigureAwait(false);
        var firstInBatch = new Dictionary<string, Post>(StringComparer.Ordinal);
        var toEmbed = new List<Post>(posts.Count);
        var duplicates = 0;
        var redelivered = 0;
        foreach (var p in posts)
        {
            if (p.ContentHash is { } h0 && known.TryGetValue(h0, out var self) && self.Id == p.Id)
            {
                p.Embedding = self.Embedding;
                firstInBatch.TryAdd(h0, p);
                redelivered++;
            }
            else if (p.ContentHash is { } h && known.TryGetValue(h, out var k))
            {
                p.DuplicateOf = k.Id;
                p.Embedding = k.Embedding;
                duplicates++;
            }
            else if (p.ContentHash is { } h2 && firstInBatch.TryGetValue(h2, out var original))
            {
                p.DuplicateOf = original.Id;
                duplicates++;
            }
            else
            {
                if (p.ContentHash is { } h3)
                {
                    firstInBatch[h3] = p;
                }

                toEmbed.Add(p);
            }
        }

        if (toEmbed.Count > 0)
        {
            try
            {
                var vectors = await embedder.EmbedAsync([.. toEmbed.Select(p => p.Text)], ct).ConfigureAwait(false);
                metrics.RecordEmbedded(toEmbed.Count);
                for (var i = 0; i < toEmbed.Count; i++)
                {
                    toEmbed[i].Embedding = vectors[i];
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The embedder gave up after its own retries (a remote endpoint down or throttling for minutes):
                // the posts are stored without a vector, findable by keyword, rather than held back or lost.
                metrics.RecordEmbedFailed(toEmbed.Count);
                LogEmbedFailed(ex, toEmbed.Count);
            }
        }

        foreach (var p in posts)
        {
            if (p.Embedding is null && p.DuplicateOf is not null && p.ContentHash is { } h)
            {
                p.Embedding = firstInBatch[h].Embedding;
            }
        }

        metrics.RecordDuplicates(duplicates);
        metrics.RecordVectorsReused(redelivered);
    }

    private async Task AdvanceCursorsAsync(IReadOnlyList<FeedEvent> batch, CancellationToken ct)
    {
        var latest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in batch)
        {
            if (e.Cursor is not null)
            {
                latest[e.CursorKey] = e.Cursor;
            }
        }

        foreach (var (source, cursor) in latest)
        {
            await cursors.SetAsync(source, cursor, ct).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Embedding failed after its retries; {Count} posts stored without a vector (keyword search still finds them)")]
    private partial void LogEmbedFailed(Exception ex, int count);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Entity counts for bursts could not be written")]
    private partial void LogCountsFailed(Exception ex);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "Watch matching failed after retries for {Count} stored posts; dead-lettered their ids, the batch goes on")]
    private partial void LogWatchMatchFailed(Exception ex, int count);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Post {PostId} rejected: {Reason}")]
    private partial void LogRejected(string postId, string reason);
}
