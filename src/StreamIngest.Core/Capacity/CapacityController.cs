using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamIngest.Transport;

namespace StreamIngest.Capacity;

/// <summary>The split as it stands: the shares of the embedder's cores, the query budget, and the ingest queue.</summary>
public sealed record CapacitySnapshot(
    bool Enabled, double IngestShare, double QueryShare, double QueryRateLimit, long QueriesAdmitted, long QueriesRefused,
    long? IngestQueue, double? IngestQueueAgeMs, bool IngestBehind);

/// <summary>
/// Moves the query budget (<see cref="QueryAdmission.Rate"/>) every <see cref="CapacityOptions.AdjustMilliseconds"/>:
/// cut it when the ingest queue is above its target or accepted queries are slower than theirs (ingest and the
/// admitted queries come first), grow it while both are fine and queries are being refused. Additive increase,
/// multiplicative decrease (from the rate queries were actually admitted at, so a cut takes effect at once).
/// Says in one log line when ingest fell behind and why, and when it caught up.
/// </summary>
public sealed partial class CapacityController : BackgroundService
{
    private readonly QueryAdmission _admission;
    private readonly CapacityOptions _options;
    private readonly WorkMeter _work;
    private readonly IFeedConsumer? _ingest;
    private readonly TimeProvider _time;
    private readonly ILogger<CapacityController> _logger;
    private TimeSpan _lastIngest;
    private TimeSpan _lastQuery;
    private double _ingestShare;
    private double _queryShare;
    private long? _queue;
    private TimeSpan? _queueAge;
    private long? _behindSince;
    private long _refusedAtBehind;

    /// <param name="ingest">The transport this process's process stage reads; null where it runs none (an api replica).</param>
    public CapacityController(
        QueryAdmission admission, CapacityOptions options, WorkMeter work, IFeedConsumer? ingest, TimeProvider timeProvider,
        ILogger<CapacityController> logger, IMeterFactory? meterFactory = null)
    {
        _admission = admission;
        _options = options;
        _work = work;
        _ingest = ingest;
        _time = timeProvider;
        _logger = logger;
        var meter = meterFactory?.Create(QueryAdmission.MeterName) ?? new Meter(QueryAdmission.MeterName);
        meter.CreateObservableGauge("streamingest.capacity.share", () => new[]
        {
            new Measurement<double>(_ingestShare, new KeyValuePair<string, object?>("work", "ingest")),
            new Measurement<double>(_queryShare, new KeyValuePair<string, object?>("work", "query")),
        }, "1", "Share of the embedder's cores busy with each kind of work (smoothed over about 2 s)");
        meter.CreateObservableGauge("streamingest.capacity.ingest_queue_age", () => _queueAge?.TotalSeconds ?? 0, "s", "How long the oldest feed event has waited for the process stage");
    }

    public CapacitySnapshot Current => new(
        _options.Enabled, Math.Round(_ingestShare, 3), Math.Round(_queryShare, 3), Math.Round(_admission.Rate, 1), _admission.Admitted, _admission.Refused,
        _queue, _queueAge is { } age ? Math.Round(age.TotalMilliseconds, 1) : null, _behindSince is not null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = TimeSpan.FromMilliseconds(_options.AdjustMilliseconds);
        using var timer = new PeriodicTimer(tick, _time);
        var last = _time.GetTimestamp();
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var now = _time.GetTimestamp();
            Adjust(_ingest?.Backlog, _ingest?.OldestWaiting, _admission.TakeWindow(), _time.GetElapsedTime(last, now));
            last = now;
        }
    }

    /// <summary>One adjustment from what the last <paramref name="elapsed"/> showed.</summary>
    public void Adjust(long? queue, TimeSpan? queueAge, QueryAdmission.Window window, TimeSpan elapsed)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        MeasureShares(seconds);
        _queue = queue;
        _queueAge = queueAge;
        if (!_options.Enabled)
        {
            return;
        }

        var rate = _admission.Rate;
        var admittedRate = window.Admitted / seconds;
        var target = _options.IngestQueueTarget;
        var ingestBehind = queue > target;
        var queriesSlow = window.DurationsMs.Count >= 4 && window.Percentile(90) > _options.QueryLatencyTargetMs;
        var queriesCompete = window.Admitted > 0 || window.Refused > 0;
        if ((ingestBehind || queriesSlow) && queriesCompete)
        {
            // Cut from what queries actually took, so the cut frees the cores at once; harder the further behind.
            var basis = Math.Min(rate, Math.Max(admittedRate, _options.MinQueriesPerSecond));
            _admission.SetRate(basis * (queue > 2 * target ? 0.5 : 0.75));
        }
        else if (!ingestBehind && !queriesSlow && (queue ?? 0) <= target / 2 && (window.Refused > 0 || admittedRate >= rate / 2))
        {
            // Demand and room: grow, fast while ingest is idle, in small steps while it runs. A rate queries do not
            // use is not grown, so a burst after a quiet spell meets the rate last earned, not a ceiling never tried.
            var idle = (queue ?? 0) <= target / 4 && _ingestShare < 0.25;
            _admission.SetRate(rate * (idle ? 1.25 : (queue ?? 0) <= target / 4 ? 1.02 : 1.01) + 0.5);
        }

        Report(ingestBehind, queriesCompete, queue, queueAge);
    }

    private void MeasureShares(double seconds)
    {
        var ingest = _work.Ingest;
        var query = _work.Query;
        var cores = Environment.ProcessorCount * seconds;
        var alpha = Math.Min(1, seconds / 2); // about two seconds of memory
        _ingestShare += alpha * (Math.Clamp((ingest - _lastIngest).TotalSeconds / cores, 0, 1) - _ingestShare);
        _queryShare += alpha * (Math.Clamp((query - _lastQuery).TotalSeconds / cores, 0, 1) - _queryShare);
        _lastIngest = ingest;
        _lastQuery = query;
    }

    private void Report(bool behind, bool queriesCompete, long? queue, TimeSpan? queueAge)
    {
        if (behind && _behindSince is null)
        {
            _behindSince = _time.GetTimestamp();
            _refusedAtBehind = _admission.Refused;
            var rate = _admission.Rate;
            if (!queriesCompete || rate <= _options.MinQueriesPerSecond)
            {
                LogBehindAtFloor(rate, queue ?? 0, queueAge?.TotalMilliseconds ?? 0, _options.IngestQueueTarget, _ingestShare, _queryShare);
            }
            else
            {
                LogBehind(queue ?? 0, queueAge?.TotalMilliseconds ?? 0, _options.IngestQueueTarget, _ingestShare, _queryShare, rate);
            }
        }
        else if (!behind && _behindSince is { } since && queue <= _options.IngestQueueTarget / 2)
        {
            LogCaughtUp(_time.GetElapsedTime(since).TotalSeconds, _admission.Refused - _refusedAtBehind, _admission.Rate);
            _behindSince = null;
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning,
        Message = "Ingest fell behind: {Queue} events waiting (oldest {AgeMs:F0} ms; target {Target}); the embedder's cores are {IngestShare:P0} ingest, {QueryShare:P0} queries; queries cut to {Rate:F0}/s, the excess refused with 429")]
    private partial void LogBehind(long queue, double ageMs, int target, double ingestShare, double queryShare, double rate);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning,
        Message = "Ingest fell behind, and not for queries (none, or at their floor of {Rate:F0}/s): {Queue} events waiting (oldest {AgeMs:F0} ms; target {Target}); the embedder's cores are {IngestShare:P0} ingest, {QueryShare:P0} queries; the pipeline itself is slower than the feed (embedder, enrichment or store), so the feed is pushed back and resumes from its cursor")]
    private partial void LogBehindAtFloor(double rate, long queue, double ageMs, int target, double ingestShare, double queryShare);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Ingest caught up after {Seconds:F1} s; {Refused} queries refused meanwhile; queries admitted at {Rate:F0}/s")]
    private partial void LogCaughtUp(double seconds, long refused, double rate);
}
