using System.Collections.Concurrent;

namespace StreamIngest.Feeds.Health;

/// <summary>A stretch of time a source may have missed, whether it was backfilled, and (when known) exactly which ids are still missing: those after <see cref="MissingAfterId"/> and before <see cref="MissingBeforeId"/>.</summary>
public sealed record FeedGap(DateTimeOffset Start, DateTimeOffset End, bool Recovered, string Reason, string? MissingAfterId = null, string? MissingBeforeId = null);

public sealed record FeedStatus(
    string Name,
    bool Connected,
    string? Endpoint,
    long Events,
    double EventsPerSecond,
    DateTimeOffset? LastEventAt,
    long Reconnects,
    long DeadLettered,
    string? LastError,
    IReadOnlyList<FeedGap> Gaps,
    string? ResumeCursor = null,
    long ReReceived = 0,
    double WaitedSeconds = 0);

/// <summary>
/// Live health of one feed: connection state, event rate, last event, reconnects, gaps and dead letters.
/// Cheap to update from the hot path; read by <c>/v1/feeds</c> and the status line.
/// </summary>
public sealed class FeedHealth(string name, TimeProvider timeProvider)
{
    private const int MaxGaps = 100;
    private readonly ConcurrentQueue<FeedGap> _gaps = new();
    private long _events;
    private long _reconnects;
    private long _deadLettered;
    private long _reReceived;
    private long _waitedTicks;
    private long _lastEventTicks;
    private long _windowStartTicks = timeProvider.GetUtcNow().UtcTicks;
    private long _windowEvents;
    private double _rate;

    public string Name => name;

    public bool Connected { get; private set; }

    public string? Endpoint { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>The cursor the current (or last) connection resumed from, when the platform has one.</summary>
    public string? ResumeCursor { get; private set; }

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public IReadOnlyList<FeedGap> Gaps => [.. _gaps];

    public void OnConnected(string endpoint, string? resumeCursor = null)
    {
        Endpoint = endpoint;
        ResumeCursor = resumeCursor;
        Connected = true;
    }

    public void OnDisconnected(string error)
    {
        if (Connected)
        {
            Interlocked.Increment(ref _reconnects);
        }

        Connected = false;
        LastError = error;
    }

    public void OnEvent()
    {
        Interlocked.Increment(ref _events);
        Interlocked.Increment(ref _windowEvents);
        Interlocked.Exchange(ref _lastEventTicks, timeProvider.GetUtcNow().UtcTicks);
    }

    public void OnDeadLetter() => Interlocked.Increment(ref _deadLettered);

    /// <summary>An event received again because a reconnect rewound its cursor (handed on again; the store collapses it).</summary>
    public void OnReReceived() => Interlocked.Increment(ref _reReceived);

    /// <summary>Time about to be spent waiting before the next connection or poll attempt.</summary>
    public void OnWaiting(TimeSpan delay) => Interlocked.Add(ref _waitedTicks, delay.Ticks);

    public void RecordGap(FeedGap gap)
    {
        _gaps.Enqueue(gap);
        while (_gaps.Count > MaxGaps && _gaps.TryDequeue(out _))
        {
        }
    }

    public FeedStatus Snapshot()
    {
        var now = timeProvider.GetUtcNow().UtcTicks;
        var start = Interlocked.Read(ref _windowStartTicks);
        var elapsed = TimeSpan.FromTicks(now - start).TotalSeconds;
        if (elapsed >= 5)
        {
            _rate = Interlocked.Exchange(ref _windowEvents, 0) / elapsed;
            Interlocked.Exchange(ref _windowStartTicks, now);
        }

        var last = Interlocked.Read(ref _lastEventTicks);
        return new FeedStatus(name, Connected, Endpoint, Interlocked.Read(ref _events), Math.Round(_rate, 2),
            last == 0 ? null : new DateTimeOffset(last, TimeSpan.Zero), Reconnects, Interlocked.Read(ref _deadLettered), LastError, Gaps, ResumeCursor, Interlocked.Read(ref _reReceived), Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _waitedTicks)).TotalSeconds, 1));
    }
}

/// <summary>All feeds' health, by name.</summary>
public sealed class FeedHealthRegistry(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, FeedHealth> _feeds = new(StringComparer.Ordinal);

    public FeedHealth For(string name) => _feeds.GetOrAdd(name, n => new FeedHealth(n, timeProvider));

    public IReadOnlyList<FeedStatus> Snapshot() => [.. _feeds.Values.Select(f => f.Snapshot()).OrderBy(s => s.Name, StringComparer.Ordinal)];
}
