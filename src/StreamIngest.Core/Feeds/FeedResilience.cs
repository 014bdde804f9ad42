using Polly;
using Polly.Retry;

namespace StreamIngest.Feeds;

/// <summary>The reconnect/poll pipelines the feeds share: named, exponential with jitter, retried for as long as the feed runs.</summary>
public static class FeedResilience
{
    /// <param name="name">Pipeline name, shown in telemetry ("jetstream-reconnect").</param>
    /// <param name="shouldHandle">Which failures are retried; cancellation never is.</param>
    /// <param name="serverDelay">A delay the server asked for (Retry-After), used instead of the backoff when given.</param>
    public static ResiliencePipeline ExponentialForever(
        string name,
        TimeProvider timeProvider,
        TimeSpan first,
        TimeSpan max,
        Func<Exception, bool> shouldHandle,
        Func<Exception, TimeSpan?>? serverDelay = null) =>
        new ResiliencePipelineBuilder { Name = name, TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException && shouldHandle(ex)),
                BackoffType = DelayBackoffType.Exponential,
                Delay = first,
                MaxDelay = max,
                UseJitter = true,
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = serverDelay is null
                    ? null
                    : args => ValueTask.FromResult(args.Outcome.Exception is { } ex ? serverDelay(ex) : null),
            })
            .Build();
}
