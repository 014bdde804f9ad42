namespace StreamIngest.Capacity;

/// <summary>Whose work a core was busy with.</summary>
public enum WorkKind
{
    Ingest,
    Query,
}

/// <summary>
/// Core-time the embedder spent on each kind of work (its runs are single-threaded, so a run's wall time is a core's
/// time). The shares on <c>/v1/stats</c>, <c>/metrics</c> and the dashboard are this over elapsed time × cores.
/// </summary>
public sealed class WorkMeter
{
    private long _ingestTicks;
    private long _queryTicks;

    public void Add(WorkKind kind, long stopwatchTicks)
    {
        if (kind == WorkKind.Ingest)
        {
            Interlocked.Add(ref _ingestTicks, stopwatchTicks);
        }
        else
        {
            Interlocked.Add(ref _queryTicks, stopwatchTicks);
        }
    }

    public TimeSpan Ingest => TimeSpan.FromSeconds(Interlocked.Read(ref _ingestTicks) / (double)System.Diagnostics.Stopwatch.Frequency);

    public TimeSpan Query => TimeSpan.FromSeconds(Interlocked.Read(ref _queryTicks) / (double)System.Diagnostics.Stopwatch.Frequency);
}
