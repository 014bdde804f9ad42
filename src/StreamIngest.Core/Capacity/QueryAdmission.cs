using System.Diagnostics.Metrics;

namespace StreamIngest.Capacity;

/// <summary>Why a query was not admitted.</summary>
public enum RefusalReason
{
    /// <summary>The query budget (<see cref="QueryAdmission.Rate"/>) is spent for now.</summary>
    Rate,

    /// <summary><see cref="CapacityOptions.MaxConcurrentQueries"/> queries are already running.</summary>
    Concurrency,
}

/// <summary>A refused query: why, and when asking again is likely to succeed.</summary>
public readonly record struct Refusal(RefusalReason Reason, TimeSpan RetryAfter);

/// <summary>
/// The gate in front of every query (search, ground, chat, MCP tools): a token bucket whose rate
/// <see cref="CapacityController"/> moves, and a cap on queries in flight. A query either gets a token now or is refused
/// now with the time until one is likely; nothing waits here, so a refusal costs microseconds and an accepted query
/// never queues behind the excess. Keys with priority (the <c>admin</c> scope) may spend the share
/// <see cref="CapacityOptions.PriorityShare"/> that the others leave.
/// </summary>
public sealed class QueryAdmission
{
    public const string MeterName = "StreamIngest.Capacity";

    /// <summary>How much of a second's budget the bucket holds: a burst that large passes, a longer one is paced.</summary>
    private const double BurstSeconds = 0.25;

    /// <summary>
    /// Refused clients are sent back no sooner than this many tokens' time: with many of them waiting, each asking
    /// again after one token's time would spend the cores on refusals (measured: 1,100 refusals/s against 16 clients).
    /// </summary>
    private const double SpreadTokens = 8;

    private readonly Lock _gate = new();
    private readonly CapacityOptions _options;
    private readonly TimeProvider _time;
    private readonly Counter<long> _admittedCounter;
    private readonly Counter<long> _refusedCounter;
    private double _rate;
    private double _tokens;
    private long _refilledAt;
    private int _inFlight;
    private Window _window = new();
    private long _admittedTotal;
    private long _refusedTotal;

    public QueryAdmission(CapacityOptions options, TimeProvider timeProvider, IMeterFactory? meterFactory = null)
    {
        _options = options;
        _time = timeProvider;
        // Start low and earn the rate: a host that starts while a stream flows must not hand its first second to queries.
        _rate = Math.Clamp(options.MinQueriesPerSecond * 10, options.MinQueriesPerSecond, options.MaxQueriesPerSecond);
        _tokens = Capacity;
        _refilledAt = timeProvider.GetTimestamp();
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _admittedCounter = meter.CreateCounter<long>("streamingest.capacity.queries.admitted", "{query}", "Queries let through the capacity gate");
        _refusedCounter = meter.CreateCounter<long>("streamingest.capacity.queries.refused", "{query}", "Queries refused at once because the cores are needed for ingest or already full");
        meter.CreateObservableGauge("streamingest.capacity.query_rate_limit", () => Rate, "{query}/s", "Queries per second the gate admits now");
        meter.CreateObservableGauge("streamingest.capacity.queries.in_flight", () => Volatile.Read(ref _inFlight), "{query}", "Queries running now");
    }

    public bool Enabled => _options.Enabled;

    /// <summary>Queries per second admitted now.</summary>
    public double Rate
    {
        get
        {
            lock (_gate)
            {
                return _rate;
            }
        }
    }

    public long Admitted => Interlocked.Read(ref _admittedTotal);

    public long Refused => Interlocked.Read(ref _refusedTotal);

    /// <summary>The bucket's size: a quarter second of the rate, but no more than may run at once (a larger burst only queues).</summary>
    private double Capacity => Math.Max(2, Math.Min(_rate * BurstSeconds, _options.ConcurrencyLimit));

    /// <summary>
    /// Admits a query (true, with a lease to dispose when it is done) or refuses it (false, with the reason and when to
    /// ask again). <paramref name="priority"/>: the caller's key may spend the held-back share.
    /// </summary>
    public bool TryEnter(bool priority, out Lease lease, out Refusal refusal)
    {
        lease = default;
        refusal = default;
        if (!_options.Enabled)
        {
            lease = new Lease(this, _time.GetTimestamp(), counted: false);
            return true;
        }

        lock (_gate)
        {
            Refill();
            var held = priority ? 0 : Capacity * _options.PriorityShare;
            if (_inFlight >= _options.ConcurrencyLimit)
            {
                refusal = new Refusal(RefusalReason.Concurrency, Jitter(SpreadTokens / _rate));
            }
            else if (_tokens < 1 + held)
            {
                refusal = new Refusal(RefusalReason.Rate, Jitter(Math.Max(1 + held - _tokens, SpreadTokens) / _rate));
            }
            else
            {
                _tokens -= 1;
                _inFlight++;
                _window.Admitted++;
                Interlocked.Increment(ref _admittedTotal);
                _admittedCounter.Add(1);
                lease = new Lease(this, _time.GetTimestamp(), counted: true);
                return true;
            }

            _window.Refused++;
        }

        Interlocked.Increment(ref _refusedTotal);
        _refusedCounter.Add(1, new KeyValuePair<string, object?>("reason", refusal.Reason == RefusalReason.Rate ? "rate" : "concurrency"));
        return false;
    }

    /// <summary>Sets the rate (clamped to the configured bounds); the tokens already in the bucket stay, up to its new size.</summary>
    public void SetRate(double perSecond)
    {
        lock (_gate)
        {
            Refill();
            _rate = Math.Clamp(perSecond, _options.MinQueriesPerSecond, _options.MaxQueriesPerSecond);
            _tokens = Math.Min(_tokens, Capacity);
        }
    }

    /// <summary>What happened since the last call: queries admitted and refused, and the finished ones' durations.</summary>
    public Window TakeWindow()
    {
        lock (_gate)
        {
            var window = _window;
            _window = new Window();
            return window;
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_refilledAt, now).TotalSeconds;
        _refilledAt = now;
        _tokens = Math.Min(Capacity, _tokens + elapsed * _rate);
    }

    /// <summary>Spread between one and two times the wait, so refused clients do not all come back at the same instant.</summary>
    private static TimeSpan Jitter(double seconds) =>
        TimeSpan.FromSeconds(Math.Clamp(seconds * (1 + Random.Shared.NextDouble()), 0.005, 5));

    private void Exit(long startedAt, bool counted)
    {
        if (!counted)
        {
            return;
        }

        var ms = _time.GetElapsedTime(startedAt).TotalMilliseconds;
        lock (_gate)
        {
            _inFlight--;
            _window.Record(ms);
        }
    }

    /// <summary>An admitted query; disposing it says the query is done.</summary>
    public readonly struct Lease(QueryAdmission owner, long startedAt, bool counted) : IDisposable
    {
        public void Dispose() => owner?.Exit(startedAt, counted);
    }

    /// <summary>Queries between two adjustments.</summary>
    public sealed class Window
    {
        private const int MaxSamples = 4096;
        private readonly List<double> _durations = [];

        public int Admitted { get; internal set; }

        public int Refused { get; internal set; }

        /// <summary>Finished queries' durations (ms), at most the first 4,096 of the window.</summary>
        public IReadOnlyList<double> DurationsMs => _durations;

        internal void Record(double ms)
        {
            if (_durations.Count < MaxSamples)
            {
                _durations.Add(ms);
            }
        }

        public double Percentile(double p) => Pipeline.NearestRank.Of(_durations, p);
    }
}
