namespace StreamIngest.Pipeline;

/// <summary>Nearest-rank percentiles, as the status line, <c>/v1/stats</c>, the capacity controller and the benchmarks report them.</summary>
public static class NearestRank
{
    /// <summary>The <paramref name="percentile"/>th (0–100) of values already sorted ascending; 0 when there are none.</summary>
    public static double Of(ReadOnlySpan<double> sorted, double percentile) =>
        sorted.Length == 0 ? 0 : sorted[(int)Math.Clamp(Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The <paramref name="percentile"/>th (0–100) of <paramref name="values"/> in any order; 0 when there are none.</summary>
    public static double Of(IEnumerable<double> values, double percentile) => Of(values.Order().ToArray(), percentile);
}
