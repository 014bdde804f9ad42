using System.Net;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using StreamIngest.Enrich.Signals;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Entity counts as one rollup document per 5-minute bucket in the state container, so reading them is a bounded set
/// of point reads and never a cross-partition scan.
/// <list type="bullet">
/// <item>Writing: the process role adds each batch's counts to memory; <see cref="FlushAsync"/> (every
/// <see cref="CosmosOptions.CountFlushSeconds"/>) merges them into each touched bucket's document by read, then replace
/// under its ETag (create when new), so replicas flushing the same bucket never lose each other's counts
/// (https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency). Counts that could
/// not be written go back to memory for the next flush.</item>
/// <item>Reading: one point read per bucket in the window. A bucket that every replica has flushed for the last time
/// (its end plus two flush intervals and a minute ago) never changes again and is kept in memory, so a dashboard poll
/// reads one or two documents.</item>
/// </list>
/// Counts are a signal, not the record: a replica that dies loses its unflushed counts, and a replaced document whose
/// answer was lost may count once more.
/// </summary>
public sealed partial class CosmosEntityCountStore : IEntityCountStore
{
    public const string Type = "entity-rollup";
    public const int TtlSeconds = 2 * 24 * 3600;

    /// <summary>
    /// Entities kept per bucket document, the most mentioned first: bounds a document to a few hundred KB (the limit
    /// is 2 MB: https://learn.microsoft.com/azure/cosmos-db/concepts-limits#per-item-limits). The long tail cut off is
    /// entities mentioned once or twice in five minutes, far below a burst.
    /// </summary>
    public const int MaxEntitiesPerBucket = 5000;

    private const int MaxAttempts = 8;
    private readonly Container _container;
    private readonly TimeProvider _time;
    private readonly TimeSpan _flushInterval;
    private readonly ILogger? _logger;
    private readonly Lock _pendingLock = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Dictionary<long, Dictionary<string, RollupEntry>> _closed = [];
    private readonly Lock _closedLock = new();
    private Dictionary<long, Dictionary<string, RollupEntry>> _pending = [];

    public CosmosEntityCountStore(Container container, TimeProvider timeProvider, TimeSpan flushInterval, ILogger? logger = null)
    {
        _container = container;
        _time = timeProvider;
        _flushInterval = flushInterval;
        _logger = logger;
    }

    /// <summary>Point reads made so far (each bucket not yet known to be final is read again).</summary>
    public long PointReads => Interlocked.Read(ref _pointReads);

    private long _pointReads;

    public static string DocumentId(long bucketMs) => "rollup-" + bucketMs.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One partition per UTC day: a day's 288 buckets together, days apart.</summary>
    public static string PartitionOf(long bucketMs) => "_rollups-" + (bucketMs / 86_400_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Adds to memory only; <see cref="FlushAsync"/> writes.</summary>
    public Task AddAsync(IReadOnlyList<EntityCount> counts, CancellationToken cancellationToken)
    {
        lock (_pendingLock)
        {
            foreach (var c in counts)
            {
                Merge(_pending, c.Bucket.ToUnixTimeMilliseconds(), c.Entity, new RollupEntry(c.Posts, c.SentimentSum, c.SentimentPosts));
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Buckets with counts waiting for the next flush.</summary>
    public int PendingBuckets
    {
        get
        {
            lock (_pendingLock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Writes what was added since the last flush, one read and one replace (or create) per touched bucket.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Dictionary<long, Dictionary<string, RollupEntry>> batch;
            lock (_pendingLock)
            {
                batch = _pending;
                _pending = [];
            }

            foreach (var (bucket, entries) in batch)
            {
                try
                {
                    await MergeIntoDocumentAsync(bucket, entries, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is CosmosException or HttpRequestException or OperationCanceledException)
                {
                    lock (_pendingLock)
                    {
                        foreach (var (entity, entry) in entries)
                        {
                            Merge(_pending, bucket, entity, entry);
                        }
                    }

                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    if (_logger is not null)
                    {
                        LogFlushFailed(_logger, ex, bucket);
                    }
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task MergeIntoDocumentAsync(long bucket, Dictionary<string, RollupEntry> entries, CancellationToken ct)
    {
        var pk = new PartitionKey(PartitionOf(bucket));
        for (var attempt = 1; ; attempt++)
        {
            var current = await _container.ReadOrNullAsync<RollupDocument>(DocumentId(bucket), pk, ct).ConfigureAwait(false);
            var merged = new Dictionary<string, RollupEntry>(current?.Resource.Entities ?? [], StringComparer.Ordinal);
            foreach (var (entity, entry) in entries)
            {
                Add(merged, entity, entry);
            }

            var doc = new RollupDocument(DocumentId(bucket), PartitionOf(bucket), Type, bucket, Trim(merged), TtlSeconds);
            try
            {
                if (current is null)
                {
                    await _container.CreateItemAsync(doc, pk, NoContent, ct).ConfigureAwait(false);
                }
                else
                {
                    await _container.ReplaceItemAsync(doc, doc.Id, pk, new ItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
                }

                return;
            }
            catch (CosmosException e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict && attempt < MaxAttempts)
            {
                // Another replica wrote this bucket between our read and write: read it again, with jitter.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 50) * attempt), _time, ct).ConfigureAwait(false);
            }
        }
    }

    public async Task<IReadOnlyList<EntityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var first = Bursts.BucketOf(since).ToUnixTimeMilliseconds();
        var last = Bursts.BucketOf(now).ToUnixTimeMilliseconds();
        var step = (long)Bursts.Bucket.TotalMilliseconds;
        var final = FinalBefore(now);
        var buckets = new List<(long Bucket, Dictionary<string, RollupEntry> Entries)>();
        var toRead = new List<long>();
        lock (_closedLock)
        {
            foreach (var stale in _closed.Keys.Where(b => b < first - step).ToList())
            {
                _closed.Remove(stale);
            }

            for (var b = first; b <= last; b += step)
            {
                if (_closed.TryGetValue(b, out var known))
                {
                    buckets.Add((b, known));
                }
                else
                {
                    toRead.Add(b);
                }
            }
        }

        var read = new (long Bucket, Dictionary<string, RollupEntry> Entries)[toRead.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, toRead.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            Interlocked.Increment(ref _pointReads);
            var found = await _container.ReadOrNullAsync<RollupDocument>(DocumentId(toRead[i]), new PartitionKey(PartitionOf(toRead[i])), ct).ConfigureAwait(false);
            read[i] = (toRead[i], found?.Resource.Entities ?? []);
        }).ConfigureAwait(false);

        lock (_closedLock)
        {
            foreach (var r in read.Where(r => r.Bucket + step <= final))
            {
                _closed[r.Bucket] = r.Entries;
            }
        }

        return [.. buckets.Concat(read).SelectMany(b => b.Entries.Select(e =>
            new EntityCount(e.Key, DateTimeOffset.FromUnixTimeMilliseconds(b.Bucket), e.Value.Posts, e.Value.SentimentSum, e.Value.SentimentPosts)))];
    }

    /// <summary>Buckets ending at or before this time have had every replica's last flush.</summary>
    private long FinalBefore(DateTimeOffset now) => (now - (2 * _flushInterval) - TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds();

    /// <summary>Expiry is each rollup document's TTL.</summary>
    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult(0);

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    private static void Merge(Dictionary<long, Dictionary<string, RollupEntry>> into, long bucket, string entity, RollupEntry entry)
    {
        if (!into.TryGetValue(bucket, out var entries))
        {
            into[bucket] = entries = new Dictionary<string, RollupEntry>(StringComparer.Ordinal);
        }

        Add(entries, entity, entry);
    }

    /// <summary>Adds an entity's counts to a bucket's, summing with what is there.</summary>
    private static void Add(Dictionary<string, RollupEntry> entries, string entity, RollupEntry entry) =>
        entries[entity] = entries.TryGetValue(entity, out var had) ? had.Plus(entry) : entry;

    private static Dictionary<string, RollupEntry> Trim(Dictionary<string, RollupEntry> entries) =>
        entries.Count <= MaxEntitiesPerBucket
            ? entries
            : entries.OrderByDescending(e => e.Value.Posts).ThenBy(e => e.Key, StringComparer.Ordinal).Take(MaxEntitiesPerBucket).ToDictionary(StringComparer.Ordinal);

    [LoggerMessage(EventId = 5210, Level = LogLevel.Warning, Message = "Entity counts for bucket {BucketMs} could not be written; kept for the next flush")]
    private static partial void LogFlushFailed(ILogger logger, Exception ex, long bucketMs);

    /// <summary>One entity's counts in a bucket.</summary>
    public sealed record RollupEntry(
        [property: JsonPropertyName("p")] long Posts,
        [property: JsonPropertyName("s")] double SentimentSum,
        [property: JsonPropertyName("n")] long SentimentPosts)
    {
        public RollupEntry Plus(RollupEntry other) => new(Posts + other.Posts, SentimentSum + other.SentimentSum, SentimentPosts + other.SentimentPosts);
    }

    public sealed record RollupDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("bucketMs")] long BucketMs,
        [property: JsonPropertyName("entities")] Dictionary<string, RollupEntry> Entities,
        [property: JsonPropertyName("ttl")] int Ttl);
}
