using StreamIngest.Model;

namespace StreamIngest.Enrich.Signals;

/// <summary>Mood in one time bucket.</summary>
public sealed record SentimentBucket(DateTimeOffset Start, int Posts, double? MeanScore, double? TickerMean);

/// <summary>
/// The mood about one entity over a window: how many posts, their mean sentiment (and, for a cashtag, the mean
/// finance score for that ticker), the label counts, the same per time bucket, and whether it is turning:
/// the last bucket's mean against the mean of the buckets before it.
/// </summary>
public sealed record SentimentSummary(
    string Entity,
    DateTimeOffset Since,
    DateTimeOffset Until,
    int Posts,
    double? MeanScore,
    double? TickerMean,
    IReadOnlyDictionary<string, int> Labels,
    IReadOnlyList<SentimentBucket> Buckets,
    double? Change,
    string Direction)
{
    /// <summary>A change of the mean by at least this much between the last bucket and the ones before is a turn.</summary>
    public const double TurnThreshold = 0.15;

    /// <summary>Fewer posts than this in the last bucket (or before it) tell nothing about a turn.</summary>
    public const int MinPostsForTurn = 3;

    /// <param name="ticker">The cashtag's ticker, when the entity is one: its per-ticker finance score is averaged too.</param>
    public static SentimentSummary Summarize(string entity, string? ticker, IReadOnlyList<Post> posts, DateTimeOffset since, DateTimeOffset until, TimeSpan bucket)
    {
        // Copies and reposts say the same thing again: the mood is measured on originals.
        var originals = posts.Where(p => p.DuplicateOf is null && p.Sentiment is not null).ToList();
        double? Mean(IEnumerable<Post> ps) => ps.Select(p => p.Sentiment!.Score).DefaultIfEmpty(double.NaN).Average() is var m && !double.IsNaN(m) ? Math.Round(m, 3) : null;
        double? TickerMean(IEnumerable<Post> ps) => ticker is null
            ? null
            : ps.Select(p => p.Sentiment!.Tickers?.GetValueOrDefault(ticker) ?? double.NaN).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average() is var m && !double.IsNaN(m) ? Math.Round(m, 3) : null;

        var count = (int)Math.Ceiling((until - since) / bucket);
        var buckets = Enumerable.Range(0, count).Select(i =>
        {
            var start = since + (bucket * i);
            var inBucket = originals.Where(p => p.CreatedAt >= start && p.CreatedAt < start + bucket || (i == count - 1 && p.CreatedAt == until)).ToList();
            return new SentimentBucket(start, inBucket.Count, Mean(inBucket), TickerMean(inBucket));
        }).ToList();

        var last = buckets.Count > 0 ? buckets[^1] : null;
        var before = originals.Where(p => last is null || p.CreatedAt < last.Start).ToList();
        double? change = null;
        var direction = "unknown";
        if (last is { Posts: >= MinPostsForTurn } && before.Count >= MinPostsForTurn)
        {
            var score = ticker is not null && last.TickerMean is { } lt && TickerMean(before) is { } bt ? (lt, bt) : (last.MeanScore!.Value, Mean(before)!.Value);
            change = Math.Round(score.Item1 - score.Item2, 3);
            direction = change >= TurnThreshold ? "rising" : change <= -TurnThreshold ? "falling" : "steady";
        }

        var labels = new[] { "negative", "neutral", "positive" }.ToDictionary(l => l, l => originals.Count(p => p.Sentiment!.Label == l), StringComparer.Ordinal);
        return new SentimentSummary(entity, since, until, originals.Count, Mean(originals), TickerMean(originals), labels, buckets, change, direction);
    }
}
