using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;

namespace StreamIngest.Bench;

/// <summary>
/// Part of <c>bench relevance</c>: the real posts in the fixtures that state their language (X API v2 <c>lang</c>,
/// Jetstream <c>langs</c>) go into one keyword index, and each of a post's words, asked alone, must find that post.
/// Printed per stated language: posts, words asked, and the hit rate, for the index as it is (stemming by language,
/// CJK bigrams) beside one that stems every post with English Porter.
/// </summary>
internal static class MultilingualCheck
{
    public sealed record LanguageScore(string Lang, int Posts, int Words, double HitRate, double HitRatePorterOnly);

    public static IReadOnlyList<LanguageScore> Run(string fixtures)
    {
        var parser = new WireLineParser();
        var context = new ParseContext("bench", "fixtures", DateTimeOffset.UnixEpoch);
        var standard = new StandardEnricher();
        var posts = new[] { "x-api-v2", "bluesky-jetstream" }
            .Select(f => Path.Combine(fixtures, f))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, "*.jsonl", SearchOption.AllDirectories))
            .Where(f => !f.Contains("flattened", StringComparison.Ordinal))
            .SelectMany(File.ReadLines)
            .SelectMany(line => parser.Parse(line, context).Events)
            .Select(e => e.Post)
            .OfType<Post>()
            .DistinctBy(p => p.Id)
            .Where(p => p.Lang is { Length: > 0 } && standard.Enrich(p) is null)
            .ToList();

        var byLanguage = new KeywordIndex();
        var porterOnly = new KeywordIndex();
        foreach (var (p, i) in posts.Select((p, i) => (p, i)))
        {
            byLanguage.Upsert(p.Id, i, 0, p.Source, p.Lang, p.Text);
            porterOnly.Upsert(p.Id, i, 0, p.Source, null, p.Text);
        }

        var all = new VectorFilter(long.MinValue + 1, long.MaxValue);
        var scores = new List<LanguageScore>();
        foreach (var group in posts.GroupBy(p => p.Lang!).OrderByDescending(g => g.Count()))
        {
            int asked = 0, found = 0, foundPorter = 0;
            foreach (var post in group)
            {
                foreach (var word in KeywordTokens.Words(post.Text, fold: false).Distinct(StringComparer.Ordinal))
                {
                    asked++;
                    found += byLanguage.Search(FtsQuery.Terms(word), posts.Count, all).Any(h => h.Key == post.Id) ? 1 : 0;
                    foundPorter += porterOnly.Search(KeywordTokens.Words(word).ConvertAll(KeywordTokens.Stem), posts.Count, all).Any(h => h.Key == post.Id) ? 1 : 0;
                }
            }

            scores.Add(new LanguageScore(group.Key, group.Count(), asked, Rate(found, asked), Rate(foundPorter, asked)));
        }

        return scores;
    }

    private static double Rate(int hits, int of) => of == 0 ? 0 : Math.Round(hits / (double)of, 4);
}
