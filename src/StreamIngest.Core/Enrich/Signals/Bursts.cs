using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Enrich.Signals;

/// <summary>An entity mentioned unusually often in the last window, against its own baseline.</summary>
public sealed record Burst(
    string Entity,
    string Kind,
    long Posts,
    double Expected,
    double Score,
    double PostsPerHour,
    double? MeanSentiment,
    DateTimeOffset FirstBucket);

/// <summary>
/// Burst detection over per-entity bucket counts: the last window's count against what the entity's own
/// baseline (the 12 hours before) predicts, as a Poisson z-score with a floor for rare entities, so that an
/// entity never seen before needs several posts to count as a burst and a busy one needs a real jump.
/// </summary>
public static class Bursts
{
    public static readonly TimeSpan Bucket = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Baseline = TimeSpan.FromHours(12);

    /// <summary>Expected posts per hour assumed for an entity with (almost) no history.</summary>
    public const double FloorPerHour = 1.0;

    public const double MinScore = 4.0;
    public const int MinPosts = 5;

    public static DateTimeOffset BucketOf(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % Bucket.Ticks), TimeSpan.Zero);

    /// <summary>The counts a batch of stored posts adds: one per entity (hashtags, cashtags, mentions, linked domains) and bucket.</summary>
    public static IReadOnlyList<EntityCount> CountsOf(IEnumerable<Post> posts)
    {
        var counts = new Dictionary<(string, DateTimeOffset), (long Posts, double Sum, long N)>();
        foreach (var p in posts)
        {
            var bucket = BucketOf(p.CreatedAt);
            foreach (var entity in EntitiesOf(p).Distinct(StringComparer.Ordinal))
            {
                var score = entity.StartsWith('$') && p.Sentiment?.Tickers?.TryGetValue(entity[1..], out var t) == true ? t : p.Sentiment?.Score;
                counts.TryGetValue((entity, bucket), out var c);
                counts[(entity, bucket)] = (c.Posts + 1, c.Sum + (score ?? 0), c.N + (score is null ? 0 : 1));
            }
        }

        return [.. counts.Select(kv => new EntityCount(kv.Key.Item1, kv.Key.Item2, kv.Value.Posts, kv.Value.Sum, kv.Value.N))];
    }

    public static IEnumerable<string> EntitiesOf(Post p) =>
        p.Entities.Hashtags.Select(h => "#" + h)
            .Concat(p.Entities.Cashtags.Select(c => "$" + c))
            .Concat(p.Entities.Mentions.Select(m => "@" + m))
            .Concat(p.Entities.Urls.Select(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) ? "domain:" + uri.Host : null).OfType<string>());

    public static string KindOf(string entity) => entity[0] switch { '#' => "hashtag", '$' => "cashtag", '@' => "mention", _ => "domain" };

    /// <summary>Bursts in the window ending at <paramref name="now"/>, strongest first.</summary>
    public static IReadOnlyList<Burst> Detect(IReadOnlyList<EntityCount> counts, DateTimeOffset now, TimeSpan window, string? kind = null)
    {
        var windowStart = now - window;
        var baselineStart = windowStart - Baseline;
        var result = new List<Burst>();
        foreach (var group in counts.Where(c => kind is null || KindOf(c.Entity) == kind).GroupBy(c => c.Entity, StringComparer.Ordinal))
        {
            var recent = group.Where(c => c.Bucket >= BucketOf(windowStart) && c.Bucket <= now).ToList();
            var observed = recent.Sum(c => c.Posts);
            if (observed < MinPosts)
            {
                continue;
            }

            var before = group.Where(c => c.Bucket >= baselineStart && c.Bucket < BucketOf(windowStart)).Sum(c => c.Posts);
            var ratePerHour = Math.Max(FloorPerHour, before / Baseline.TotalHours);
            var expected = ratePerHour * window.TotalHours;
            var score = (observed - expected) / Math.Sqrt(expected);
            if (score < MinScore)
            {
                continue;
            }

            var n = recent.Sum(c => c.SentimentPosts);
            result.Add(new Burst(
                group.Key,
                KindOf(group.Key),
                observed,
                Math.Round(expected, 2),
                Math.Round(score, 2),
                Math.Round(observed / window.TotalHours, 1),
                n == 0 ? null : Math.Round(recent.Sum(c => c.SentimentSum) / n, 3),
                recent.Min(c => c.Bucket)));
        }

        return [.. result.OrderByDescending(b => b.Score)];
    }
}
