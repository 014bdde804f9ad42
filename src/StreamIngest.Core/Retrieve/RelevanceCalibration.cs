namespace StreamIngest.Retrieve;

/// <summary>
/// What a hybrid score means for one embedding model: the keyword weight fusion uses with it, and the logistic map
/// (Platt scaling) from the fused score (cosine plus keyword bonus) to an estimate in [0, 1] of the probability that the
/// result is about what the question asks about (in <c>bench relevance</c>: a post of the question's incident). Each
/// model's cosines sit in their own range (Arctic's are compressed next to MiniLM's), so one weight and one threshold
/// cannot serve both; fitted per model on the tuning half of <c>bench relevance --fit</c> and scored on the held-out
/// half (docs/decisions/0009-calibrated-relevance.md).
/// </summary>
public sealed record RelevanceCalibration(double KeywordWeight, double Slope, double Intercept)
{
    /// <summary>The fit for a packaged embedding model; null for one not fitted here (a remote endpoint's).</summary>
    public static RelevanceCalibration? For(string embeddingModel) => embeddingModel switch
    {
        "sentence-transformers/all-MiniLM-L6-v2" => MiniLm,
        "Snowflake/snowflake-arctic-embed-xs" => ArcticXs,
        _ => null,
    };

    /// <summary>MiniLM: keyword weight 0.1 (tuning P@10 0.5782, the best of the grid); expected calibration error 0.030 tuning, 0.035 held-out.</summary>
    public static readonly RelevanceCalibration MiniLm = new(KeywordWeight: 0.1, Slope: 23.2872, Intercept: -15.2774);

    /// <summary>Arctic: keyword weight 0.02 (tuning P@10 0.5692; 0.1, MiniLM's, gave 0.5256, below its vector list); calibration error 0.033 tuning, 0.035 held-out.</summary>
    public static readonly RelevanceCalibration ArcticXs = new(KeywordWeight: 0.02, Slope: 53.2775, Intercept: -36.5162);

    /// <summary>The estimated probability that a result with this fused score is relevant.</summary>
    public double Estimate(double fused) => 1 / (1 + Math.Exp(-(Slope * fused + Intercept)));

    /// <summary>The fused score (a cosine, where no keyword match adds to it) whose estimate is <paramref name="relevance"/>, in (0, 1).</summary>
    public double ScoreFor(double relevance) => (Math.Log(relevance / (1 - relevance)) - Intercept) / Slope;
}
