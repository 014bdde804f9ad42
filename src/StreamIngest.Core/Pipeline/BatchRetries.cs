using Polly;
using Polly.Retry;

namespace StreamIngest.Pipeline;

/// <summary>The process stage's named retry pipelines: jittered exponential backoff from 200 ms to 5 s, never on cancellation.</summary>
public static class BatchRetries
{
    public static ResiliencePipeline Jittered(string name, int attempts, Func<Exception, bool>? skip = null) =>
        new ResiliencePipelineBuilder { Name = name }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException && skip?.Invoke(ex) != true),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(5),
                MaxRetryAttempts = attempts,
            })
            .Build();
}
