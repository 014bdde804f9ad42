using Polly;
using Polly.Retry;

namespace StreamIngest.Feeds;

/// <summary>
/// The backoff of one feed loop: grows only across consecutive failed attempts and returns to its first step
/// when the loop calls <see cref="Reset"/> (a connection that delivered events, a poll that succeeded). Polly's
/// own attempt counter lives as long as one pipeline execution, which for a feed is its whole life, so the
/// pipelines below take their delays from here instead. Each loop owns its own instance.
/// </summary>
public sealed class FeedBackoff(TimeSpan first, TimeSpan max, Health.FeedHealth? health = null, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;
    private int _failures;
    private long _waitedTicks;

    public TimeSpan First => first;

    public TimeSpan Max => max;

    /// <summary>Consecutive failures since the last reset.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Total time this loop has spent waiting to try again.</summary>
    public TimeSpan Waited => TimeSpan.FromTicks(Interlocked.Read(ref _waitedTicks));

    public void Reset() => Interlocked.Exchange(ref _failures, 0);

    /// <summary>The wait before the next attempt: first × 2^(failures − 1), capped at max, with "equal jitter" (half fixed, half random).</summary>
    public TimeSpan Next()
    {
        var n = Math.Min(Interlocked.Increment(ref _failures), 30);
        var ceiling = Math.Min(max.Ticks, first.Ticks * Math.Pow(2, n - 1));
        var delay = TimeSpan.FromTicks((long)(ceiling / 2 + (_random.NextDouble() * ceiling / 2)));
        Interlocked.Add(ref _waitedTicks, delay.Ticks);
        health?.OnWaiting(delay);
        return delay;
    }

    /// <summary>Records a wait the server asked for (Retry-After) instead of the backoff's own.</summary>
    public void Waiting(TimeSpan delay)
    {
        Interlocked.Increment(ref _failures);
        Interlocked.Add(ref _waitedTicks, delay.Ticks);
        health?.OnWaiting(delay);
    }
}

/// <summary>The reconnect/poll pipelines the feeds share: named, exponential with jitter, retried for as long as the feed runs.</summary>
public static class FeedResilience
{
    /// <param name="name">Pipeline name, shown in telemetry ("jetstream-reconnect").</param>
    /// <param name="backoff">The loop's backoff state: delays come from it, and the loop resets it after a success.</param>
    /// <param name="shouldHandle">Which failures are retried; cancellation never is.</param>
    /// <param name="serverDelay">A delay the server asked for (Retry-After), used instead of the backoff when given.</param>
    public static ResiliencePipeline ExponentialForever(
        string name,
        TimeProvider timeProvider,
        FeedBackoff backoff,
        Func<Exception, bool> shouldHandle,
        Func<Exception, TimeSpan?>? serverDelay = null) =>
        new ResiliencePipelineBuilder { Name = name, TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException && shouldHandle(ex)),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = args =>
                {
                    if (args.Outcome.Exception is { } ex && serverDelay?.Invoke(ex) is { } asked)
                    {
                        backoff.Waiting(asked);
                        return ValueTask.FromResult<TimeSpan?>(asked);
                    }

                    return ValueTask.FromResult<TimeSpan?>(backoff.Next());
                },
            })
            .Build();
}

/// <summary>
/// A read or connect deadline measured by the feed's <see cref="TimeProvider"/> (so tests move it with fake time):
/// <see cref="Token"/> is cancelled when the caller's token is, or when <c>after</c> has passed.
/// </summary>
public sealed class FeedDeadline : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    public FeedDeadline(TimeSpan after, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        _timer = new CancellationTokenSource(after, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the deadline passed (rather than the caller cancelling).</summary>
    public bool Expired => _timer.IsCancellationRequested;

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
