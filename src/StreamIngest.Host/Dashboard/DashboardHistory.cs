using StreamIngest.Pipeline;
using StreamIngest.Transport;

namespace StreamIngest.Host.Dashboard;

/// <summary>One point of the dashboard's charts: rates over the interval before <see cref="At"/>.</summary>
public sealed record DashboardSample(
    DateTimeOffset At,
    IReadOnlyDictionary<string, double> InPerSecondBySource,
    double StoredPerSecond,
    double EmbeddedPerSecond,
    long? Queue,
    double DeadLettersPerMinute,
    double? FreshnessP50Ms,
    double? FreshnessP99Ms,
    double? IngestShare = null,
    double? QueryShare = null,
    double QueriesAdmittedPerSecond = 0,
    double QueriesRefusedPerSecond = 0,
    double? QueueAgeMs = null);

/// <summary>
/// The last <see cref="Capacity"/> samples of the pipeline's counters, taken every <see cref="Interval"/> by
/// <see cref="DashboardSampler"/>: a few counter reads and one small sort per interval, whether or not anyone
/// looks, so the charts have history when someone does.
/// </summary>
public sealed class DashboardHistory(PipelineMetrics metrics, IFeedConsumer consumer, TimeProvider timeProvider, StreamIngest.Capacity.CapacityController? capacity = null)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>20 minutes of 2-second samples.</summary>
    public const int Capacity = 600;

    private readonly Lock _gate = new();
    private readonly Queue<DashboardSample> _samples = new(Capacity);
    private IReadOnlyDictionary<string, long> _lastEvents = new Dictionary<string, long>(StringComparer.Ordinal);
    private long _lastStored;
    private long _lastEmbedded;
    private long _lastRejected;
    private long _lastFreshness;
    private long _lastAdmitted;
    private long _lastRefused;
    private DateTimeOffset? _lastAt;

    public IReadOnlyList<DashboardSample> Samples
    {
        get
        {
            lock (_gate)
            {
                return [.. _samples];
            }
        }
    }

    /// <summary>Takes one sample (the first call only sets the baseline).</summary>
    public void Sample()
    {
        var now = timeProvider.GetUtcNow();
        var events = metrics.ReceivedBySource;
        var stored = metrics.Stored;
        var embedded = metrics.Embedded;
        var rejected = metrics.Rejected;
        var freshnessAt = metrics.FreshnessSamples;
        var split = capacity?.Current;
        lock (_gate)
        {
            if (_lastAt is { } last && now > last)
            {
                var seconds = (now - last).TotalSeconds;
                var bySource = events.ToDictionary(
                    e => e.Key,
                    e => Math.Round(Math.Max(0, e.Value - _lastEvents.GetValueOrDefault(e.Key)) / seconds, 2),
                    StringComparer.Ordinal);
                var freshness = metrics.FreshnessPercentilesSince(Math.Min(_lastFreshness, freshnessAt));
                _samples.Enqueue(new DashboardSample(
                    now,
                    bySource,
                    Math.Round((stored - _lastStored) / seconds, 2),
                    Math.Round((embedded - _lastEmbedded) / seconds, 2),
                    consumer.Backlog,
                    Math.Round((rejected - _lastRejected) / seconds * 60, 2),
                    freshness?.P50,
                    freshness?.P99,
                    split?.IngestShare,
                    split?.QueryShare,
                    split is null ? 0 : Math.Round(Math.Max(0, split.QueriesAdmitted - _lastAdmitted) / seconds, 2),
                    split is null ? 0 : Math.Round(Math.Max(0, split.QueriesRefused - _lastRefused) / seconds, 2),
                    consumer.OldestWaiting is { } age ? Math.Round(age.TotalMilliseconds, 1) : null));
                while (_samples.Count > Capacity)
                {
                    _samples.Dequeue();
                }
            }

            _lastAt = now;
            _lastEvents = events;
            _lastStored = stored;
            _lastEmbedded = embedded;
            _lastRejected = rejected;
            _lastFreshness = freshnessAt;
            _lastAdmitted = split?.QueriesAdmitted ?? 0;
            _lastRefused = split?.QueriesRefused ?? 0;
        }
    }
}

/// <summary>Samples <see cref="DashboardHistory"/> every <see cref="DashboardHistory.Interval"/>.</summary>
public sealed class DashboardSampler(DashboardHistory history, TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        history.Sample();
        using var timer = new PeriodicTimer(DashboardHistory.Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                history.Sample();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }
}
