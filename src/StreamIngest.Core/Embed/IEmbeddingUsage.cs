namespace StreamIngest.Embed;

/// <summary>What a metered embedder (one billed per token) has used so far: shown in /v1/stats and /metrics.</summary>
public interface IEmbeddingUsage
{
    long PostTokens { get; }

    long QueryTokens { get; }

    /// <summary>Estimated cost in USD at the configured price.</summary>
    double CostUsd { get; }

    /// <summary>Inputs cut to the model's token limit before embedding.</summary>
    long TruncatedInputs { get; }

    /// <summary>Requests retried (throttled, failed or timed out).</summary>
    long Retries { get; }
}
