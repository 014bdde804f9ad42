using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;

namespace StreamIngest.Core.Tests.Signals;

public class SentimentSummaryTests
{
    private static readonly DateTimeOffset Until = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static Post Post(int minutesAgo, double score, double? ticker = null, string? duplicateOf = null)
    {
        var p = StandardEnricherTests.NewPost("$NVDA", minutesAgo.ToString(System.Globalization.CultureInfo.InvariantCulture));
        p.CreatedAt = Until.AddMinutes(-minutesAgo);
        p.Sentiment = new PostSentiment(score > 0.2 ? "positive" : score < -0.2 ? "negative" : "neutral", score, ticker is null ? null : new Dictionary<string, double> { ["NVDA"] = ticker.Value });
        p.DuplicateOf = duplicateOf;
        return p;
    }

    [Fact]
    public void Summarize_MoodTurningDownInTheLastBucket_IsFalling()
    {
        List<Post> posts =
        [
            Post(170, 0.6, 0.5), Post(150, 0.5, 0.6), Post(130, 0.7, 0.4),  // two and three hours ago: bullish
            Post(100, 0.4, 0.5), Post(80, 0.6, 0.5),
            Post(50, -0.5, -0.6), Post(30, -0.7, -0.4), Post(10, -0.6, -0.5), // the last hour: bearish
            Post(5, -0.9, -0.9, duplicateOf: "test:10"),                        // a repost: not counted again
        ];

        var s = SentimentSummary.Summarize("$NVDA", "NVDA", posts, Until.AddHours(-3), Until, TimeSpan.FromHours(1));

        Assert.Equal(8, s.Posts);
        Assert.Equal(3, s.Buckets.Count);
        Assert.Equal([3, 2, 3], s.Buckets.Select(b => b.Posts));
        Assert.Equal(-0.5, s.Buckets[^1].TickerMean);
        Assert.Equal("falling", s.Direction);
        Assert.Equal(-1.0, s.Change);                               // -0.5 now against 0.5 before, on the ticker score
        Assert.Equal(3, s.Labels["negative"]);
        Assert.Equal(5, s.Labels["positive"]);
    }

    [Fact]
    public void Summarize_TooFewPostsToTell_IsUnknown()
    {
        var s = SentimentSummary.Summarize("#flood", null, [Post(10, 0.5), Post(100, -0.5)], Until.AddHours(-3), Until, TimeSpan.FromHours(1));

        Assert.Equal("unknown", s.Direction);
        Assert.Null(s.Change);
        Assert.Null(s.TickerMean);
        Assert.Equal(0, s.MeanScore);
    }
}
