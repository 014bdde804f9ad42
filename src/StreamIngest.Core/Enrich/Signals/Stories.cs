using StreamIngest.Model;

namespace StreamIngest.Enrich.Signals;

/// <summary>One story: posts that say the same thing, with what is known about how it spreads.</summary>
public sealed record Story(
    string ClusterId,
    Post Representative,
    int Size,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    IReadOnlyList<string> Sources,
    IReadOnlyList<string> Authors,
    IReadOnlyList<string> TopEntities,
    double? MeanSentiment,
    int RecentPosts,
    double Growth);

public static class Stories
{
    /// <summary>
    /// Stories of at least <paramref name="minSize"/> posts in the window, largest first, or fastest-growing first
    /// (<c>Growth</c>: the share of its posts in the last quarter of the window, against the quarter's share of time).
    /// The representative is the story's most engaged post (the earliest on a tie).
    /// </summary>
    public static IReadOnlyList<Story> Summarize(IReadOnlyList<Post> posts, DateTimeOffset since, DateTimeOffset until, int minSize = 2, bool byGrowth = false, int top = 20)
    {
        var recentFrom = until - ((until - since) / 4);
        var stories = posts
            .Where(p => p.ClusterId is not null)
            .GroupBy(p => p.ClusterId!, StringComparer.Ordinal)
            .Where(g => g.Count() >= minSize)
            .Select(g =>
            {
                var members = g.ToList();
                var recent = members.Count(p => p.CreatedAt >= recentFrom);
                var sentiments = members.Where(p => p.Sentiment is not null).Select(p => p.Sentiment!.Score).ToList();
                return new Story(
                    g.Key,
                    members.OrderByDescending(p => p.Metrics?.Total ?? 0).ThenBy(p => p.CreatedAt).First(),
                    members.Count,
                    members.Min(p => p.CreatedAt),
                    members.Max(p => p.CreatedAt),
                    [.. members.Select(p => p.Source).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
                    [.. members.GroupBy(p => p.Author.Handle, StringComparer.OrdinalIgnoreCase).OrderByDescending(a => a.Count()).Take(10).Select(a => a.Key)],
                    [.. members.SelectMany(Bursts.EntitiesOf).GroupBy(e => e, StringComparer.Ordinal).OrderByDescending(e => e.Count()).ThenBy(e => e.Key, StringComparer.Ordinal).Take(5).Select(e => e.Key)],
                    sentiments.Count == 0 ? null : Math.Round(sentiments.Average(), 3),
                    recent,
                    Math.Round(recent / (double)members.Count / 0.25, 2));
            });
        return [.. (byGrowth ? stories.OrderByDescending(s => s.Growth).ThenByDescending(s => s.Size) : stories.OrderByDescending(s => s.Size).ThenByDescending(s => s.Growth)).Take(top)];
    }
}
