using System.ComponentModel.DataAnnotations;

namespace StreamIngest.Capacity;

/// <summary>
/// How the cores are split between ingest and queries (<c>Capacity:*</c>). Ingest comes first: while the ingest queue
/// is above <see cref="IngestQueueTarget"/>, or accepted queries run slower than <see cref="QueryLatencyTargetMs"/>,
/// the query rate is cut; while both are fine and queries are being refused, it grows again. Queries beyond the rate
/// are refused at once (429 with <c>Retry-After</c>), never queued. Policy and measurements: docs/decisions/0008-capacity.md.
/// </summary>
public sealed class CapacityOptions
{
    public const string Section = "Capacity";

    /// <summary>Off: every query is admitted and nothing protects ingest from them (the behaviour before this option).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Feed events that may wait for the process stage before queries are cut: about one batch (<c>MaxBatch</c> 64), the
    /// most that gathers while one is stored at a steady rate (at 300 posts/s, a fifth of a second). Only where this
    /// process runs the process stage; an api-only replica sheds by query latency alone.
    /// </summary>
    [Range(1, 1_000_000)]
    public int IngestQueueTarget { get; set; } = 64;

    /// <summary>The accepted queries' 90th percentile that counts as "the cores are saturated" (milliseconds).</summary>
    [Range(1, 60_000)]
    public double QueryLatencyTargetMs { get; set; } = 100;

    /// <summary>The query rate when nothing pushes back (queries per second, per process).</summary>
    [Range(1, 1_000_000)]
    public double MaxQueriesPerSecond { get; set; } = 2000;

    /// <summary>The rate queries are never cut below, however far ingest falls behind: queries slow down, never stop.</summary>
    [Range(0.1, 1_000_000)]
    public double MinQueriesPerSecond { get; set; } = 5;

    /// <summary>Queries in flight at once; more are refused at once. 0: eight per core.</summary>
    [Range(0, 100_000)]
    public int MaxConcurrentQueries { get; set; }

    /// <summary>
    /// The share of the query budget held back for keys with the <c>admin</c> scope: other keys are refused while
    /// less than this is left, so an operator's query still gets through when apps fill the rest.
    /// </summary>
    [Range(0, 0.9)]
    public double PriorityShare { get; set; } = 0.2;

    /// <summary>How often the split is adjusted (milliseconds).</summary>
    [Range(50, 10_000)]
    public int AdjustMilliseconds { get; set; } = 100;

    public IEnumerable<string> Validate()
    {
        if (MinQueriesPerSecond > MaxQueriesPerSecond)
        {
            yield return $"{Section}:MinQueriesPerSecond ({MinQueriesPerSecond}) must not exceed {Section}:MaxQueriesPerSecond ({MaxQueriesPerSecond}).";
        }
    }

    public int ConcurrencyLimit => MaxConcurrentQueries > 0 ? MaxConcurrentQueries : 8 * Environment.ProcessorCount;
}
