using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using StreamIngest.Watches;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Watches and their delivery state as small documents in the state container.
/// <list type="bullet">
/// <item>The watches themselves: partition <c>_watches</c>, never expiring (a handful of documents, read whole). These
/// carry neither the query vector nor the webhook secret, so listing them stays small and never returns a secret:
/// both sit in the watch's own <c>detail</c> document, read once per watch and replica (a watch never changes).</item>
/// <item>Per watch, partition <c>_watch-{id}</c>: a sequence counter, the webhook's delivered position and lease, one
/// event per matching post (id from the post id, so a redelivered batch finds its events already there) and the
/// delivery log. Events and log entries carry their own TTL (<c>Watches:EventRetentionHours</c>, 7 days), independent of
/// the posts' retention, so a webhook down for days still gets its events.</item>
/// </list>
/// Events are appended in a transactional batch with the counter, replaced under its ETag: the sequence numbers are
/// gap-free and ordered, and two writers racing for a watch never hand out the same number (the loser's batch fails
/// as a whole with 412 and is rebuilt on the new counter). Transactional batches are limited to one logical
/// partition and 100 operations (https://learn.microsoft.com/azure/cosmos-db/nosql/transactional-batch); optimistic
/// concurrency through <c>IfMatchEtag</c> (https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency).
/// The delivered position and the lease use conditional patches (<c>FilterPredicate</c>, 412 when it does not hold:
/// https://learn.microsoft.com/azure/cosmos-db/partial-document-update#supported-modes).
/// </summary>
public sealed class CosmosWatchStore(Container container, TimeSpan? eventRetention = null) : IWatchStore
{
    /// <summary>Seconds a watch's events and delivery log live (their own TTL, not the posts' retention).</summary>
    private readonly int _eventTtl = (int)(eventRetention ?? TimeSpan.FromDays(7)).TotalSeconds;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DetailDocument> _details = new(StringComparer.Ordinal);
    private long _detailReads;

    /// <summary>Detail documents read so far (once per watch, then cached).</summary>
    public long DetailReads => Interlocked.Read(ref _detailReads);

    public const string WatchesPartition = "_watches";
    public const string WatchType = "watch";
    public const string EventType = "watch-event";
    public const string DeliveryType = "watch-delivery";

    /// <summary>Events per batch: 100 operations at most, one of them the counter.</summary>
    public const int EventsPerBatch = 99;

    private const int MaxAttempts = 10;
    private const string CounterId = "counter";
    private const string DeliveryStateId = "delivery";
    private const string DetailId = "detail";

    public static string PartitionOf(string watchId) => "_watch-" + watchId;

    /// <summary>An event's document id: the post's, so a (watch, post) pair has one document.</summary>
    public static string EventId(string postId) => "ev-" + CosmosPostDocument.DocumentId(postId);

    public async Task AddAsync(Watch watch, CancellationToken cancellationToken)
    {
        // The detail first: a listed watch always has one.
        var detail = new DetailDocument(DetailId, PartitionOf(watch.Id), watch.Vector, watch.WebhookSecret, -1);
        await container.UpsertItemAsync(detail, new PartitionKey(detail.Pk), NoContent, cancellationToken).ConfigureAwait(false);
        var listed = watch with { Vector = [], WebhookSecret = null };
        await container.CreateItemAsync(
            new WatchDocument("watch-" + watch.Id, WatchesPartition, WatchType, watch.Id, watch.CreatedAt.ToUnixTimeMilliseconds(), JsonSerializer.Serialize(listed), -1),
            new PartitionKey(WatchesPartition), NoContent, cancellationToken).ConfigureAwait(false);
        _details[watch.Id] = detail;
    }

    public async Task<IReadOnlyList<Watch>> ListAsync(CancellationToken cancellationToken)
    {
        var query = new QueryDefinition(ListQuery).WithParameter("@pk", WatchesPartition).WithParameter("@type", WatchType);
        var listed = new List<Watch>();
        using var iterator = container.GetItemQueryIterator<WatchRow>(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(WatchesPartition) });
        while (iterator.HasMoreResults)
        {
            listed.AddRange((await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false)).Select(r => JsonSerializer.Deserialize<Watch>(r.Doc)!));
        }

        var watches = await Task.WhenAll(listed.Select(w => WithDetailAsync(w, cancellationToken))).ConfigureAwait(false);
        foreach (var gone in _details.Keys.Except(listed.Select(w => w.Id), StringComparer.Ordinal))
        {
            _details.TryRemove(gone, out _);
        }

        return [.. watches.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id, StringComparer.Ordinal)];
    }

    public async Task<Watch?> GetAsync(string id, CancellationToken cancellationToken) =>
        await container.ReadOrNullAsync<WatchDocument>("watch-" + id, new PartitionKey(WatchesPartition), cancellationToken).ConfigureAwait(false) is { } found
            ? await WithDetailAsync(JsonSerializer.Deserialize<Watch>(found.Resource.Doc)!, cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>The watch with its vector and secret (a watch written before details existed carries them itself).</summary>
    private async Task<Watch> WithDetailAsync(Watch listed, CancellationToken ct)
    {
        if (listed.Vector.Length > 0)
        {
            return listed;
        }

        if (!_details.TryGetValue(listed.Id, out var detail))
        {
            Interlocked.Increment(ref _detailReads);
            detail = (await container.ReadOrNullAsync<DetailDocument>(DetailId, new PartitionKey(PartitionOf(listed.Id)), ct).ConfigureAwait(false))?.Resource;
            if (detail is null)
            {
                return listed; // deleted meanwhile: matches nothing (no vector)
            }

            _details[listed.Id] = detail;
        }

        return listed with { Vector = detail.Vector, WebhookSecret = detail.Secret };
    }

    /// <summary>The counter's value: one point read.</summary>
    public async Task<long> GetLastEventSeqAsync(string watchId, CancellationToken cancellationToken) =>
        (await ReadCounterAsync(watchId, new PartitionKey(PartitionOf(watchId)), cancellationToken).ConfigureAwait(false)).Counter.Seq;

    /// <summary>
    /// Removes the watch, its counter and delivery state; its events and log expire by TTL (deleting a whole logical
    /// partition is a preview feature an account may not have). Watch ids are random, so none is reused.
    /// </summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var existed = await DeleteIfPresentAsync("watch-" + id, WatchesPartition, cancellationToken).ConfigureAwait(false);
        await DeleteIfPresentAsync(CounterId, PartitionOf(id), cancellationToken).ConfigureAwait(false);
        await DeleteIfPresentAsync(DeliveryStateId, PartitionOf(id), cancellationToken).ConfigureAwait(false);
        await DeleteIfPresentAsync(DetailId, PartitionOf(id), cancellationToken).ConfigureAwait(false);
        _details.TryRemove(id, out _);
        return existed;
    }

    public async Task<int> AppendEventsAsync(IReadOnlyList<(string WatchId, string PostId, double Score)> matches, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Watches in parallel (each its own partition and counter); a watch's chunks in order.
        var perWatch = await Task.WhenAll(matches.DistinctBy(m => (m.WatchId, m.PostId)).GroupBy(m => m.WatchId, StringComparer.Ordinal).Select(async watch =>
        {
            var added = 0;
            foreach (var chunk in watch.Chunk(EventsPerBatch))
            {
                added += await AppendToWatchAsync(watch.Key, chunk, at, cancellationToken).ConfigureAwait(false);
            }

            return added;
        })).ConfigureAwait(false);
        return perWatch.Sum();
    }

    private async Task<int> AppendToWatchAsync(string watchId, IReadOnlyList<(string WatchId, string PostId, double Score)> matches, DateTimeOffset at, CancellationToken ct)
    {
        var pk = new PartitionKey(PartitionOf(watchId));
        for (var attempt = 1; ; attempt++)
        {
            // Events already recorded (a redelivered batch) are left out: one point read per candidate, in one call.
            var existing = await container.ReadManyItemsAsync<IdRow>([.. matches.Select(m => (EventId(m.PostId), pk))], cancellationToken: ct).ConfigureAwait(false);
            var known = existing.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            var fresh = matches.Where(m => !known.Contains(EventId(m.PostId))).ToList();
            if (fresh.Count == 0)
            {
                return 0;
            }

            var (counter, etag) = await ReadCounterAsync(watchId, pk, ct).ConfigureAwait(false);
            var batch = container.CreateTransactionalBatch(pk);
            var next = counter with { Seq = counter.Seq + fresh.Count };
            batch = etag is null
                ? batch.CreateItem(next)
                : batch.ReplaceItem(CounterId, next, new TransactionalBatchItemRequestOptions { IfMatchEtag = etag });
            var seq = counter.Seq;
            foreach (var (_, postId, score) in fresh)
            {
                batch = batch.CreateItem(new EventDocument(EventId(postId), PartitionOf(watchId), EventType, watchId, ++seq, postId, score, at.ToUnixTimeMilliseconds(), _eventTtl));
            }

            using var response = await batch.ExecuteAsync(ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return fresh.Count;
            }

            // 412: another writer moved the counter; 409: another writer recorded one of these posts. Read again.
            if (response.StatusCode is not (HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict) || attempt >= MaxAttempts)
            {
                throw new CosmosException($"Recording {fresh.Count} events for watch {watchId} failed: {response.ErrorMessage}", response.StatusCode, 0, response.ActivityId, response.RequestCharge);
            }

            // Back off with jitter, so writers that lost the same race do not meet again at once.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * attempt), ct).ConfigureAwait(false);
        }
    }

    private async Task<(CounterDocument Counter, string? ETag)> ReadCounterAsync(string watchId, PartitionKey pk, CancellationToken ct) =>
        await container.ReadOrNullAsync<CounterDocument>(CounterId, pk, ct).ConfigureAwait(false) is { } found
            ? (found.Resource, found.ETag)
            : (new CounterDocument(CounterId, PartitionOf(watchId), 0, -1), null);

    /// <summary>Names its partition in the text as well as in the request (peers such as cosmosdb-server require it).</summary>
    public const string ListQuery = "SELECT c.doc FROM c WHERE c.pk = @pk AND c.type = @type";

    public const string EventsQueryText = "SELECT TOP @n c.seq, c.postRef, c.score, c.atMs FROM c WHERE c.type = @type AND c.seq > @after ORDER BY c.seq";

    public const string DeliveriesQuery = "SELECT TOP @n c.seq, c.attempt, c.status, c.outcome, c.atMs FROM c WHERE c.type = @type ORDER BY c.atMs DESC";

    public static QueryDefinition EventsQuery(long after, int limit) =>
        new QueryDefinition(EventsQueryText)
            .WithParameter("@n", limit)
            .WithParameter("@type", EventType)
            .WithParameter("@after", after);

    public async Task<IReadOnlyList<WatchEvent>> ReadEventsAsync(string watchId, long after, int limit, CancellationToken cancellationToken)
    {
        var list = new List<WatchEvent>();
        using var iterator = container.GetItemQueryIterator<EventRow>(EventsQuery(after, limit), requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(PartitionOf(watchId)) });
        while (iterator.HasMoreResults)
        {
            list.AddRange((await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false))
                .Select(r => new WatchEvent(r.Seq, watchId, r.PostRef, r.Score, DateTimeOffset.FromUnixTimeMilliseconds(r.AtMs))));
        }

        return list;
    }

    public async Task<long> GetDeliveredAsync(string watchId, CancellationToken cancellationToken) =>
        (await ReadDeliveryStateAsync(watchId, cancellationToken).ConfigureAwait(false))?.Delivered ?? 0;

    /// <summary>Moves the position forward only: a patch whose predicate keeps a later position (412 is "already further").</summary>
    public async Task SetDeliveredAsync(string watchId, long seq, CancellationToken cancellationToken)
    {
        var predicate = "FROM c WHERE c.delivered < " + seq.ToString(CultureInfo.InvariantCulture);
        await PatchDeliveryStateAsync(watchId, [PatchOperation.Set("/delivered", seq)], predicate, new DeliveryStateDocument(DeliveryStateId, PartitionOf(watchId), seq, null, 0, -1), cancellationToken).ConfigureAwait(false);
    }

    public Task LogDeliveryAsync(WatchDelivery delivery, CancellationToken cancellationToken) =>
        container.CreateItemAsync(
            new DeliveryDocument(Guid.NewGuid().ToString("N"), PartitionOf(delivery.WatchId), DeliveryType, delivery.Seq, delivery.Attempt, delivery.Status, delivery.Outcome, delivery.At.ToUnixTimeMilliseconds(), _eventTtl),
            new PartitionKey(PartitionOf(delivery.WatchId)), NoContent, cancellationToken);

    public async Task<IReadOnlyList<WatchDelivery>> ListDeliveriesAsync(string watchId, int limit, CancellationToken cancellationToken)
    {
        var query = new QueryDefinition(DeliveriesQuery)
            .WithParameter("@n", limit).WithParameter("@type", DeliveryType);
        var list = new List<WatchDelivery>();
        using var iterator = container.GetItemQueryIterator<DeliveryDocument>(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(PartitionOf(watchId)) });
        while (iterator.HasMoreResults)
        {
            list.AddRange((await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false)).Select(d => new WatchDelivery(watchId, d.Seq, d.Attempt, d.Status, d.Outcome, DateTimeOffset.FromUnixTimeMilliseconds(d.AtMs))));
        }

        return list;
    }

    /// <summary>The lease predicate: free, expired, or already this owner's.</summary>
    public static string LeasePredicate(string owner, DateTimeOffset now) =>
        $"FROM c WHERE c.leaseOwner = '{EscapeLiteral(owner)}' OR NOT IS_DEFINED(c.leaseUntilMs) OR c.leaseUntilMs <= {now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";

    public async Task<bool> TryLeaseDeliveryAsync(string watchId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        await PatchDeliveryStateAsync(
            watchId,
            [PatchOperation.Set("/leaseOwner", owner), PatchOperation.Set("/leaseUntilMs", until.ToUnixTimeMilliseconds())],
            LeasePredicate(owner, now),
            new DeliveryStateDocument(DeliveryStateId, PartitionOf(watchId), 0, owner, until.ToUnixTimeMilliseconds(), -1),
            cancellationToken).ConfigureAwait(false);

    /// <summary>A conditional patch of the delivery state, created with <paramref name="initial"/> when missing; false when the predicate did not hold.</summary>
    private async Task<bool> PatchDeliveryStateAsync(string watchId, IReadOnlyList<PatchOperation> operations, string predicate, DeliveryStateDocument initial, CancellationToken ct)
    {
        var pk = new PartitionKey(PartitionOf(watchId));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await container.PatchItemAsync<DeliveryStateDocument>(DeliveryStateId, pk, operations, new PatchItemRequestOptions { FilterPredicate = predicate, EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
                return true;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                return false;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound && attempt < MaxAttempts)
            {
                try
                {
                    await container.CreateItemAsync(initial, pk, NoContent, ct).ConfigureAwait(false);
                    return true;
                }
                catch (CosmosException conflict) when (conflict.StatusCode == HttpStatusCode.Conflict)
                {
                    // Created by another replica meanwhile: patch it.
                }
            }
        }
    }

    private async Task<DeliveryStateDocument?> ReadDeliveryStateAsync(string watchId, CancellationToken ct) =>
        (await container.ReadOrNullAsync<DeliveryStateDocument>(DeliveryStateId, new PartitionKey(PartitionOf(watchId)), ct).ConfigureAwait(false))?.Resource;

    private async Task<bool> DeleteIfPresentAsync(string id, string partition, CancellationToken ct)
    {
        try
        {
            await container.DeleteItemAsync<IdRow>(id, new PartitionKey(partition), cancellationToken: ct).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static string EscapeLiteral(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    public sealed record WatchDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("watchId")] string WatchId,
        [property: JsonPropertyName("createdAtMs")] long CreatedAtMs,
        [property: JsonPropertyName("doc")] string Doc,
        [property: JsonPropertyName("ttl")] int Ttl);

    /// <summary>What a listed watch leaves out: the query vector and the webhook's signing secret.</summary>
    public sealed record DetailDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("vector")] float[] Vector,
        [property: JsonPropertyName("secret")] string? Secret,
        [property: JsonPropertyName("ttl")] int Ttl);

    public sealed record CounterDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("seq")] long Seq,
        [property: JsonPropertyName("ttl")] int Ttl);

    /// <summary>One match. The post id is <c>postRef</c>, not <c>postId</c>: post queries select documents by <c>IS_DEFINED(c.postId)</c>.</summary>
    public sealed record EventDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("watchId")] string WatchId,
        [property: JsonPropertyName("seq")] long Seq,
        [property: JsonPropertyName("postRef")] string PostRef,
        [property: JsonPropertyName("score")] double Score,
        [property: JsonPropertyName("atMs")] long AtMs,
        [property: JsonPropertyName("ttl")] int Ttl);

    public sealed record DeliveryStateDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("delivered")] long Delivered,
        [property: JsonPropertyName("leaseOwner")] string? LeaseOwner,
        [property: JsonPropertyName("leaseUntilMs")] long LeaseUntilMs,
        [property: JsonPropertyName("ttl")] int Ttl);

    public sealed record DeliveryDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("seq")] long Seq,
        [property: JsonPropertyName("attempt")] int Attempt,
        [property: JsonPropertyName("status")] int? Status,
        [property: JsonPropertyName("outcome")] string Outcome,
        [property: JsonPropertyName("atMs")] long AtMs,
        [property: JsonPropertyName("ttl")] int Ttl);

    private sealed record WatchRow([property: JsonPropertyName("doc")] string Doc);

    public sealed record IdRow([property: JsonPropertyName("id")] string Id);

    private sealed record EventRow(
        [property: JsonPropertyName("seq")] long Seq,
        [property: JsonPropertyName("postRef")] string PostRef,
        [property: JsonPropertyName("score")] double Score,
        [property: JsonPropertyName("atMs")] long AtMs);
}
