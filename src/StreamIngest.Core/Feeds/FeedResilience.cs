using System.Xml;
using Polly;
using Polly.Registry;
using Polly.Retry;

namespace StreamIngest.Feeds;

/// <summary>A loop's backoff as the shared feed pipelines use it: the wait before the next attempt after this failure.</summary>
public interface IFeedBackoff
{
    TimeSpan NextDelay(Exception failure);
}

/// <summary>
/// The backoff of one feed loop: grows only across consecutive failed attempts and returns to its first step
/// when the loop calls <see cref="Reset"/> (a connection that delivered events, a poll that succeeded). Polly's
/// own attempt counter lives as long as one pipeline execution, which for a feed is its whole life, so the
/// pipelines below take their delays from here instead. Each loop owns its own instance.
/// </summary>
/// <param name="serverDelay">A wait the server asked for (Retry-After), taken instead of the backoff's own when given.</param>
public sealed class FeedBackoff(TimeSpan first, TimeSpan max, Health.FeedHealth? health = null, Random? random = null, Func<Exception, TimeSpan?>? serverDelay = null) : IFeedBackoff
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

    public TimeSpan NextDelay(Exception failure)
    {
        if (serverDelay?.Invoke(failure) is { } asked)
        {
            Waiting(asked);
            return asked;
        }

        return Next();
    }

    /// <summary>Records a wait the server asked for (Retry-After) instead of the backoff's own.</summary>
    public void Waiting(TimeSpan delay)
    {
        Interlocked.Increment(ref _failures);
        Interlocked.Add(ref _waitedTicks, delay.Ticks);
        health?.OnWaiting(delay);
    }
}

/// <summary>
/// The reconnect and poll pipelines of the feeds, by name, as the host registers them (<c>AddResiliencePipeline</c>):
/// retried for as long as the feed runs, each wait taken from the calling loop's own backoff, which travels in the
/// <see cref="ResilienceContext"/> (<see cref="ExecuteAsync"/>): one registered pipeline serves every loop, and no loop's
/// failures lengthen another's waits.
/// </summary>
public static class FeedResilience
{
    public const string JetstreamReconnect = "jetstream-reconnect";
    public const string MastodonReconnect = "mastodon-reconnect";
    public const string XStreamReconnect = "x-stream-reconnect";
    public const string XRecentSearch = "x-recent-search";
    public const string RssPoll = "rss-poll";

    public static IReadOnlyList<string> Names { get; } = [JetstreamReconnect, MastodonReconnect, XStreamReconnect, XRecentSearch, RssPoll];

    /// <summary>The calling loop's backoff, set by <see cref="ExecuteAsync"/>.</summary>
    public static readonly ResiliencePropertyKey<IFeedBackoff> Backoff = new("streamingest.feed-backoff");

    /// <summary>Which failures a pipeline retries (cancellation never is): everything for the streams; for RSS what a poll can transiently meet.</summary>
    public static bool Handles(string name, Exception ex) => ex is not OperationCanceledException && (name != RssPoll
        || ex is HttpRequestException or XmlException or TimeoutException or IOException or Polly.Timeout.TimeoutRejectedException);

    /// <summary>The feed retry: forever, each wait from the loop's backoff in the context.</summary>
    public static ResiliencePipelineBuilder AddFeedRetry(this ResiliencePipelineBuilder builder, string name) =>
        builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => Handles(name, ex)),
            MaxRetryAttempts = int.MaxValue,
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                args.Context.Properties.TryGetValue(Backoff, out var backoff) ? backoff.NextDelay(args.Outcome.Exception!) : TimeSpan.FromSeconds(1)),
        });

    /// <summary>The registered pipeline of that name, or (no registry: tests, benches) the same pipeline built here.</summary>
    public static ResiliencePipeline Resolve(ResiliencePipelineProvider<string>? pipelines, string name, TimeProvider timeProvider) =>
        pipelines is not null && pipelines.TryGetPipeline(name, out var pipeline)
            ? pipeline
            : new ResiliencePipelineBuilder { Name = name, TimeProvider = timeProvider }.AddFeedRetry(name).Build();

    /// <summary>Runs <paramref name="action"/> through the pipeline with the loop's <paramref name="backoff"/> in the context.</summary>
    public static async ValueTask ExecuteAsync(this ResiliencePipeline pipeline, IFeedBackoff backoff, Func<CancellationToken, ValueTask> action, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Backoff, backoff);
        try
        {
            await pipeline.ExecuteAsync(static (ctx, run) => run(ctx.CancellationToken), context, action).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
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
