using System.Diagnostics.Metrics;

namespace StreamIngest.Pipeline;

/// <summary>
/// Counters and the freshness distribution of the pipeline, exported through one <see cref="Meter"/>
/// and kept in memory for the status line, <c>/v1/stats</c> and the benchmarks.
/// </summary>
public sealed class PipelineMetrics
{
    public const string MeterName = "StreamIngest.Pipeline";

    private readonly Counter<long> _received;
    private readonly Counter<long> _stored;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _deleted;
    private readonly Histogram<double> _freshness;
    private readonly double[] _recent;
    private long _recentCount;
    private long _receivedTotal;
    private long _storedTotal;
    private long _rejectedTotal;
    private long _deletedTotal;
    private long _duplicatesTotal;
    private long _processedTotal;
    private long _lastStoredCreatedTicks;

    public PipelineMetrics(IMeterFactory meterFactory, int freshnessSamples = 1 << 16)
    {
        var meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("streamingest.posts.received", "{post}", "Feed events accepted by the transport");
        _stored = meter.CreateCounter<long>("streamingest.posts.stored", "{post}", "Posts durably stored and searchable");
        _rejected = meter.CreateCounter<long>("streamingest.posts.rejected", "{post}", "Input dead-lettered with a reason");
        _deleted = meter.CreateCounter<long>("streamingest.posts.deleted", "{post}", "Posts deleted at the source's request");
        _freshness = meter.CreateHistogram<double>("streamingest.freshness", "ms", "Receipt to searchable");
        _recent = new double[freshnessSamples];
    }

    private long _embeddedTotal;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _receivedBySource = new(StringComparer.Ordinal);

    public long Received => Interlocked.Read(ref _receivedTotal);

    public long Stored => Interlocked.Read(ref _storedTotal);

    public long Rejected => Interlocked.Read(ref _rejectedTotal);

    public long Deleted => Interlocked.Read(ref _deletedTotal);

    public long Duplicates => Interlocked.Read(ref _duplicatesTotal);

    /// <summary>Feed events fully handled by the process stage (stored, deleted or dead-lettered).</summary>
    public long Processed => Interlocked.Read(ref _processedTotal);

    /// <summary>Source time of the newest post stored so far.</summary>
    public DateTimeOffset? NewestStored
    {
        get
        {
            var t = Interlocked.Read(ref _lastStoredCreatedTicks);
            return t == 0 ? null : new DateTimeOffset(t, TimeSpan.Zero);
        }
    }

    public void RecordReceived(long n = 1)
    {
        Interlocked.Add(ref _receivedTotal, n);
        _received.Add(n);
    }

    /// <summary>One feed event accepted from <paramref name="source"/> (counted per source for the dashboard).</summary>
    public void RecordReceived(string source)
    {
        RecordReceived();
        _receivedBySource.AddOrUpdate(source, 1, static (_, n) => n + 1);
    }

    /// <summary>Feed events accepted so far, per source.</summary>
    public IReadOnlyDictionary<string, long> ReceivedBySource => _receivedBySource.ToDictionary(StringComparer.Ordinal);

    public void RecordRejected(long n = 1)
    {
        Interlocked.Add(ref _rejectedTotal, n);
        _rejected.Add(n);
    }

    public void RecordDeleted(long n)
    {
        Interlocked.Add(ref _deletedTotal, n);
        _deleted.Add(n);
    }

    public void RecordDuplicates(long n) => Interlocked.Add(ref _duplicatesTotal, n);

    public void RecordProcessed(long n) => Interlocked.Add(ref _processedTotal, n);

    /// <summary>Texts the embedder turned into vectors (exact duplicates reuse one and are not counted).</summary>
    public void RecordEmbedded(long n) => Interlocked.Add(ref _embeddedTotal, n);

    public long Embedded => Interlocked.Read(ref _embeddedTotal);

    /// <summary>Posts delivered again that kept the vector they were stored with instead of being embedded again.</summary>
    public void RecordVectorsReused(long n) => Interlocked.Add(ref _vectorsReusedTotal, n);

    public long VectorsReused => Interlocked.Read(ref _vectorsReusedTotal);

    private long _vectorsReusedTotal;

    /// <summary>Posts stored without a vector because the embedder failed after its retries.</summary>
    public void RecordEmbedFailed(long n) => Interlocked.Add(ref _embedFailedTotal, n);

    public long EmbedFailed => Interlocked.Read(ref _embedFailedTotal);

    private long _embedFailedTotal;

    /// <summary>Freshness samples recorded so far (a position for <see cref="FreshnessPercentilesSince"/>).</summary>
    public long FreshnessSamples => Interlocked.Read(ref _recentCount);

    /// <summary>
    /// p50 and p99 of the freshness samples recorded after position <paramref name="from"/> (as far as the
    /// sample ring still holds them); null when there were none. For charts of freshness over time.
    /// </summary>
    public (double P50, double P99)? FreshnessPercentilesSince(long from)
    {
        var to = Interlocked.Read(ref _recentCount);
        var count = (int)Math.Min(to - from, _recent.Length);
        if (count <= 0)
        {
            return null;
        }

        var copy = new double[count];
        for (var i = 0; i < count; i++)
        {
            copy[i] = _recent[(to - count + i) % _recent.Length];
        }

        Array.Sort(copy);
        return (NearestRank.Of(copy.AsSpan(), 50), NearestRank.Of(copy.AsSpan(), 99));
    }

    public void RecordStored(DateTimeOffset createdAt, TimeSpan freshness)
    {
        Interlocked.Increment(ref _storedTotal);
        _stored.Add(1);
        var ms = Math.Max(0, freshness.TotalMilliseconds);
        _freshness.Record(ms);
        var slot = Interlocked.Increment(ref _recentCount) - 1;
        _recent[slot % _recent.Length] = ms;
        var ticks = createdAt.UtcTicks;
        long seen;
        while (ticks > (seen = Interlocked.Read(ref _lastStoredCreatedTicks))
               && Interlocked.CompareExchange(ref _lastStoredCreatedTicks, ticks, seen) != seen)
        {
        }
    }

    /// <summary>Percentile (0–100) of receipt-to-searchable over the most recent posts; null before any.</summary>
    public double? FreshnessPercentile(double percentile)
    {
        var count = (int)Math.Min(Interlocked.Read(ref _recentCount), _recent.Length);
        if (count == 0)
        {
            return null;
        }

        var copy = _recent.AsSpan(0, count).ToArray();
        Array.Sort(copy);
        return NearestRank.Of(copy.AsSpan(), percentile);
    }

    /// <summary>Forgets the freshness samples (benchmarks measure one phase at a time).</summary>
    public void ResetFreshness() => Interlocked.Exchange(ref _recentCount, 0);
}
