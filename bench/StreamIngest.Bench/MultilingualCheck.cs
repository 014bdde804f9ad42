using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;

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

    /// <summary>
    /// Hybrid search (the English embedding model with the keyword list) asked a post's longest words: how often that
    /// post is in the top 10, per language, with the keyword bonus for posts the model does not read at each factor.
    /// </summary>
    public sealed record HybridScore(string Lang, int Posts, int Questions, IReadOnlyDictionary<string, double> HitAt10ByFactor);

    public static async Task<IReadOnlyList<HybridScore>> HybridAsync(string fixtures, string dir, IEmbedder embedder, RelevanceCalibration calibration, double[] factors)
    {
        var posts = Posts(fixtures);
        using var p = new BenchCommand.Pipeline(Path.Combine(dir, "multilingual.db"), embedder, signals: false);
        foreach (var chunk in posts.Chunk(64))
        {
            await p.Processor.HandleAsync([.. chunk.Select(post => FeedEvent.Upsert(post))], CancellationToken.None);
        }

        var questions = posts
            .Where(post => p.Keywords.Contains(post.Id) && post.DuplicateOf is null)
            .Select(post => (Post: post, Words: KeywordTokens.Words(post.Text, fold: false).Where(w => w.Length >= 4 || KeywordTokens.IsCjk(w[0])).Distinct(StringComparer.Ordinal).OrderByDescending(w => w.Length).Take(2).ToList()))
            .Where(q => q.Words.Count > 0)
            .ToList();
        var hits = factors.ToDictionary(f => f, _ => new Dictionary<string, int>(StringComparer.Ordinal));
        foreach (var factor in factors)
        {
            var ranking = new RankingOptions { KeywordWeight = calibration.KeywordWeight, Calibration = calibration, EnglishOnlyEmbedder = true, OtherScriptKeywordFactor = factor };
            var retriever = new SqliteRetriever(p.Db, p.Index, embedder, new HybridRanker(ranking, TimeProvider.System), p.Keywords);
            foreach (var (post, words) in questions)
            {
                foreach (var word in words)
                {
                    var result = await retriever.SearchAsync(new SearchQuery { Text = word, K = 10, Mode = SearchMode.Hybrid, CollapseDuplicates = false }, CancellationToken.None);
                    var key = post.Lang!;
                    hits[factor][key] = hits[factor].GetValueOrDefault(key) + (result.Hits.Any(h => h.Post.Id == post.Id) ? 1 : 0);
                }
            }
        }

        return [.. questions.GroupBy(q => q.Post.Lang!).OrderByDescending(g => g.Count()).Select(g =>
        {
            var asked = g.Sum(q => q.Words.Count);
            return new HybridScore(g.Key, g.Count(), asked, factors.ToDictionary(f => f.ToString(System.Globalization.CultureInfo.InvariantCulture), f => Rate(hits[f].GetValueOrDefault(g.Key), asked)));
        })];
    }

    /// <summary>The real posts in the fixtures that state their language, cleaned up as the pipeline does.</summary>
    private static List<Post> Posts(string fixtures)
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
        return posts;
    }

    public static IReadOnlyList<LanguageScore> Run(string fixtures)
    {
        var posts = Posts(fixtures);
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
