using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;
using StreamIngest.Store;
using Xunit.Abstractions;

namespace StreamIngest.Core.Tests.Signals;

/// <summary>
/// Burst detection on a simulated 14-hour stream: 40 hashtags and cashtags at steady Poisson rates (2 to 60
/// posts an hour, seeded), three injected spikes of different sizes, detection run every 5 minutes over the last
/// hour. Measures detected spikes, false alarms and the delay from a spike's start to its first detection.
/// </summary>
public sealed class BurstsTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    private static Post Tagged(string entity, DateTimeOffset at, double score = 0)
    {
        var p = StandardEnricherTests.NewPost("post");
        p.CreatedAt = at;
        p.Entities = entity.StartsWith('$')
            ? p.Entities with { Cashtags = [entity[1..]] }
            : p.Entities with { Hashtags = [entity[1..]] };
        p.Sentiment = new PostSentiment("neutral", score, entity.StartsWith('$') ? new Dictionary<string, double> { [entity[1..]] = score } : null);
        return p;
    }

    [Fact]
    public void Detect_InjectedSpikes_AreFoundQuicklyWithFewFalseAlarms()
    {
        var random = new Random(20261120);
        var entities = Enumerable.Range(0, 40).Select(i => (Name: i % 4 == 0 ? $"$TK{i}" : $"#tag{i}", PerHour: 2 + (i * 58 / 39.0))).ToList();
        var spikes = new (string Entity, DateTimeOffset At, int Extra, TimeSpan Over)[]
        {
            ("#tag5", Start.AddHours(13), 40, TimeSpan.FromMinutes(20)),      // a quiet tag (about 9/h) suddenly talked about
            ("$TK36", Start.AddHours(13.5), 90, TimeSpan.FromMinutes(30)),    // a busy ticker (about 55/h) doubling and more
            ("#brandnew", Start.AddHours(12.5), 12, TimeSpan.FromMinutes(15)), // a tag never seen before
        };
        var posts = new List<Post>();
        for (var t = Start; t < Start.AddHours(14); t += TimeSpan.FromMinutes(1))
        {
            foreach (var (name, perHour) in entities)
            {
                // Poisson arrivals per minute (Knuth), so the baseline is noisy the way real streams are.
                var l = Math.Exp(-perHour / 60);
                var k = 0;
                for (var p = random.NextDouble(); p > l; p *= random.NextDouble())
                {
                    k++;
                }

                posts.AddRange(Enumerable.Range(0, k).Select(_ => Tagged(name, t.AddSeconds(random.Next(60)))));
            }
        }

        foreach (var (entity, at, extra, over) in spikes)
        {
            posts.AddRange(Enumerable.Range(0, extra).Select(i => Tagged(entity, at + (over * i / extra), entity.StartsWith('$') ? -0.6 : 0)));
        }

        var store = new List<EntityCount>();
        var firstSeen = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var falseAlarms = new HashSet<string>(StringComparer.Ordinal);
        double? tickerSentiment = null;
        foreach (var batch in posts.OrderBy(p => p.CreatedAt).GroupBy(p => Bursts.BucketOf(p.CreatedAt)))
        {
            store.AddRange(Bursts.CountsOf(batch));
            var now = batch.Key + Bursts.Bucket;
            if (now < Start.AddHours(12))
            {
                continue; // a full baseline first
            }

            foreach (var burst in Bursts.Detect(store, now, TimeSpan.FromHours(1)))
            {
                if (spikes.Any(s => s.Entity == burst.Entity && now >= s.At))
                {
                    firstSeen.TryAdd(burst.Entity, now);
                    if (burst.Entity == "$TK36")
                    {
                        tickerSentiment ??= burst.MeanSentiment;
                    }
                }
                else
                {
                    falseAlarms.Add(burst.Entity);
                }
            }
        }

        var delays = spikes.Where(s => firstSeen.ContainsKey(s.Entity)).Select(s => (firstSeen[s.Entity] - s.At).TotalMinutes).ToList();
        output.WriteLine($"{posts.Count} posts over 14 h, 40 entities; spikes detected {firstSeen.Count} of {spikes.Length}; false alarms {falseAlarms.Count} ({string.Join(", ", falseAlarms)}); delay after spike start: {string.Join(", ", delays.Select(d => $"{d:F0} min"))}; mean sentiment of the $TK36 burst {tickerSentiment}");
        Assert.Equal(spikes.Length, firstSeen.Count);
        Assert.True(falseAlarms.Count <= 1, $"false alarms: {string.Join(", ", falseAlarms)}");
        Assert.All(delays, d => Assert.True(d <= 20, $"detected {d} min after the spike began"));
        Assert.True(tickerSentiment < 0, "a cashtag burst carries the mean sentiment of its posts");
    }

    [Fact]
    public void CountsOf_OnePerEntityAndBucket_WithTickerSentiment()
    {
        var at = Start.AddMinutes(7);
        var counts = Bursts.CountsOf([Tagged("$NVDA", at, 0.5), Tagged("$NVDA", at.AddMinutes(1), -0.1), Tagged("#flood", at)]);

        var nvda = Assert.Single(counts, c => c.Entity == "$NVDA");
        Assert.Equal(Start.AddMinutes(5), nvda.Bucket);
        Assert.Equal(2, nvda.Posts);
        Assert.Equal(0.4, nvda.SentimentSum, 6);
        Assert.Single(counts, c => c.Entity == "#flood");
    }
}
