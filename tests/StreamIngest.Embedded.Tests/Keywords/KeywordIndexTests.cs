using System.Text.Json;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Tests.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Tests;

namespace StreamIngest.Embedded.Tests.Keywords;

public class KeywordIndexTests : StoreTestBase
{
    private static readonly VectorFilter All = new(long.MinValue + 1, long.MaxValue);

    private static readonly string[] Questions =
    [
        "Is the Riverton flood real, and which streets are under water?",
        "What are people saying about the Lakeport strike?",
        "power cut basement flooded",
        "How can I help or donate?",
        "Is the bridge closed?",
        "Flooding downtown, evacuations ordered",
        "people city",
    ];

    [Fact]
    public async Task Search_ScoresLikeFts5Bm25_OnTheDemoPosts()
    {
        var lines = File.ReadLines(System.IO.Path.Combine(TestPaths.RepoRoot, "src", "StreamIngest.Host", "samples", "demo.jsonl"));
        var posts = lines.Select(l => JsonDocument.Parse(l).RootElement).Select(e => NewPost(e.GetProperty("id").GetString()!, e.GetProperty("text").GetString()!)).ToArray();
        await Store.UpsertAsync(posts, CancellationToken.None);
        var keywords = SqlitePostStore.LoadKeywordIndex(Db);

        var answered = 0;
        foreach (var question in Questions)
        {
            var ours = keywords.Search(FtsQuery.Terms(question), 10, All);
            var fts = Fts5Scores(FtsQuery.Build(question)!);

            Assert.Equal(Math.Min(10, fts.Count), ours.Count);
            answered += ours.Count > 0 ? 1 : 0;
            Assert.Equal(fts.Values.OrderDescending().Take(10).Select(s => Math.Round(s, 9)), ours.Select(h => Math.Round(h.Score, 9)));
            Assert.All(ours, h => Assert.Equal(fts[h.Key], h.Score, 9));
        }

        Assert.True(answered >= Questions.Length - 1, $"{answered} questions matched posts");
    }

    /// <summary>Every matching post's FTS5 bm25 (negated: higher is better), by post id.</summary>
    private Dictionary<string, double> Fts5Scores(string match)
    {
        using var connection = Db.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT p.id, -bm25(posts_fts) FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid WHERE posts_fts MATCH $m";
        cmd.Parameters.AddWithValue("$m", match);
        using var reader = cmd.ExecuteReader();
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        while (reader.Read())
        {
            scores[reader.GetString(0)] = reader.GetDouble(1);
        }

        return scores;
    }

    /// <summary>Zipf-like words: a few in most documents, most in few; with a time per document.</summary>
    private static List<(string Key, long Created, string Text)> Corpus(int documents, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, documents).Select(i => ($"d{i}", (long)i, string.Join(' ', Enumerable.Range(0, 4 + rng.Next(20)).Select(_ => $"w{(int)(3000 * Math.Pow(rng.NextDouble(), 4))}"))))];
    }

    /// <summary>BM25 of every document by the formula, no early termination: what MaxScore must agree with.</summary>
    private static List<(string Key, double Score)> BruteForce(List<(string Key, long Created, string Text)> docs, IReadOnlyList<string> words, int k, long since)
    {
        var tokens = docs.Select(d => KeywordTokens.Tokenize(d.Text)).ToArray();
        var avg = tokens.Average(t => (double)t.Count);
        var df = words.ToDictionary(w => w, w => tokens.Count(t => t.Contains(w)));
        return [.. docs.Select((d, i) => (d.Key, d.Created, Score: words.Where(w => df[w] > 0).Sum(w =>
            {
                var tf = tokens[i].Count(t => t == w);
                return KeywordIndex.Idf(docs.Count, df[w]) * tf * (KeywordIndex.K1 + 1) / (tf + KeywordIndex.K1 * (1 - KeywordIndex.B + KeywordIndex.B * tokens[i].Count / avg));
            })))
            .Where(x => x.Score > 0 && x.Created >= since)
            .OrderByDescending(x => x.Score)
            .Take(k)
            .Select(x => (x.Key, x.Score))];
    }

    [Fact]
    public void Search_MaxScoreTopK_EqualsScoringEveryDocument_WithAndWithoutAWindow()
    {
        var docs = Corpus(5000, 3);
        var index = new KeywordIndex();
        foreach (var (key, created, text) in docs)
        {
            index.Upsert(key, created, created, "s", "en", text);
        }

        var rng = new Random(4);
        for (var q = 0; q < 40; q++)
        {
            // Each query mixes very common words (w0, w1) with rarer ones: the case MaxScore skips through.
            string[] words = [$"w{rng.Next(3)}", $"w{rng.Next(30)}", $"w{100 + rng.Next(2900)}", $"w{rng.Next(3000)}"];
            var since = q % 2 == 0 ? long.MinValue + 1 : 2500;
            var expected = BruteForce(docs, [.. words.Distinct()], 10, since);

            var got = index.Search(words, 10, All with { MinCreatedMs = since });

            Assert.Equal(expected.Select(e => Math.Round(e.Score, 9)), got.Select(g => Math.Round(g.Score, 9)));
        }
    }

    [Fact]
    public void RemovedAndReplacedDocuments_AreForgotten_AndCompactionKeepsTheRanking()
    {
        var docs = Corpus(40_000, 5);
        var index = new KeywordIndex();
        foreach (var (key, created, text) in docs)
        {
            index.Upsert(key, created, created, "s", "en", text);
        }

        // Remove 30,000 with their text, as the store does (compaction runs once tombstones pass a quarter of the live
        // documents; the last 13,616 stay tombstones), and rewrite one.
        foreach (var (key, _, text) in docs.Take(30_000))
        {
            index.Remove(key, text);
        }

        index.Upsert("d39999", 39_999, 39_999, "s", "en", "zebra crossing", docs[^1].Text);
        var live = docs.Skip(30_000).Select(d => d.Key == "d39999" ? (d.Key, d.Created, "zebra crossing") : d).ToList();
        var fresh = new KeywordIndex();
        foreach (var (key, created, text) in live)
        {
            fresh.Upsert(key, created, created, "s", "en", text);
        }

        Assert.Equal(10_000, index.Count);
        Assert.Equal("d39999", Assert.Single(index.Search(["zebra"], 10, All)).Key);
        foreach (var words in new[] { new[] { "w0", "w7" }, ["w1", "w250", "w2999"], ["w3"] })
        {
            Assert.Equal(fresh.Search(words, 10, All).Select(h => (h.Key, Math.Round(h.Score, 9))), index.Search(words, 10, All).Select(h => (h.Key, Math.Round(h.Score, 9))));
        }
    }

    [Fact]
    public void Upsert_SameTextAgain_KeepsOneDocumentButTakesTheNewFields()
    {
        var index = new KeywordIndex();
        index.Upsert("a", 1, 100, "x", "en", "river flood downtown");
        index.Upsert("a", 1, 900, "x", "en", "river flood downtown");

        Assert.Equal(1, index.Count);
        Assert.Empty(index.Search(["flood"], 10, new VectorFilter(0, 500)));
        Assert.Single(index.Search(["flood"], 10, new VectorFilter(500, 1000, index.CodeOf("x"), index.CodeOf("en"), new HashSet<long> { 1 })));
        Assert.Empty(index.Search(["flood"], 10, All with { Lang = index.CodeOf("de") }));
    }

    [Theory]
    [InlineData("Café #Flood_Watch $NVDA don't", new[] { "cafe", "flood", "watch", "nvda", "don", "t" })]
    [InlineData("Flooding: ÉVACUATIONS à Montréal", new[] { "flood", "evacu", "a", "montreal" })]
    [InlineData("🌊🌊 ?!", new string[0])]
    [InlineData("東京で大雨、地震も", new[] { "東京", "京で", "で大", "大雨", "地震", "震も" })]
    [InlineData("Flooding in 武汉 today", new[] { "flood", "in", "武汉", "todai" })]
    [InlineData("서울 홍수 경보", new[] { "서울", "홍수", "경보" })]
    [InlineData("雨", new[] { "雨" })]
    [InlineData("大雨🌊警報 Café", new[] { "大雨", "警報", "cafe" })] // an emoji among CJK characters once threw (a surrogate normalised alone)
    [InlineData("ガソリン Café", new[] { "ガソ", "ソリ", "リン", "cafe" })]
    public void Tokenize_SplitsFoldsAndStemsAsFts5PorterUnicode61Does(string text, string[] expected)
    {
        Assert.Equal(expected, KeywordTokens.Tokenize(text));
    }

    [Theory]
    [InlineData("地震")]
    [InlineData("東京")]
    [InlineData("大雨")]
    [InlineData("東京 大雨")]
    [InlineData("서울")] // Hangul: looked up as written (a folded form would split syllables into jamo)
    public void Search_JapaneseWords_FindThePostsThatContainThem(string question)
    {
        var index = new KeywordIndex();
        index.Upsert("jp1", 1, 100, "bsky", "ja", "東京で大雨が降っています。地震の後で道路が冠水。서울도");
        index.Upsert("jp2", 2, 100, "bsky", "ja", "今日は晴れて暖かい一日でした");
        index.Upsert("en1", 3, 100, "bsky", "en", "heavy rain in Tokyo after the earthquake");

        var hits = index.Search(FtsQuery.Terms(question), 10, All);

        Assert.Equal(["jp1"], hits.Select(h => h.Key));
    }

    [Fact]
    public void Search_AChineseWordInsideASentence_IsFound_AndOneSharedCharacterIsNot()
    {
        var index = new KeywordIndex();
        index.Upsert("zh1", 1, 100, "bsky", "zh", "武汉今天发布暴雨红色预警");
        index.Upsert("zh2", 2, 100, "bsky", "zh", "今天天气很好");

        Assert.Equal(["zh1"], index.Search(FtsQuery.Terms("暴雨"), 10, All).Select(h => h.Key));
        Assert.Equal(["zh1"], index.Search(FtsQuery.Terms("红色预警"), 10, All).Select(h => h.Key));
        Assert.Empty(index.Search(FtsQuery.Terms("雨天"), 10, All)); // neither post has the bigram 雨天
    }

    [Theory]
    [InlineData("Überschwemmungen in Köln, Straßen gesperrt", "de", new[] { "de:uberschwemm", "de:in", "de:koln", "de:strass", "de:gesperrt" })]
    [InlineData("Las inundaciones cortaron la carretera", "es", new[] { "es:las", "es:inund", "es:cort", "es:la", "es:carreter" })]
    [InlineData("Inondations nationales", "fr", new[] { "fr:inond", "fr:national" })]
    [InlineData("powodzie w Krakowie", "pl", new[] { "powodzie", "w", "krakowie" })] // no stemmer for Polish: never an English one
    [InlineData("floods in Köln", "en-GB", new[] { "flood", "in", "koln" })]
    [InlineData("floods in Köln", "und", new[] { "flood", "in", "koln" })]
    [InlineData("東京で大雨 Überschwemmung", "de", new[] { "東京", "京で", "で大", "大雨", "de:uberschwemm" })]
    public void Tokenize_StemsByThePostsLanguage(string text, string lang, string[] expected)
    {
        Assert.Equal(expected, KeywordTokens.Tokenize(text, lang));
    }

    [Theory]
    [InlineData("Überschwemmung", "de1")] // singular asks, plural was posted: one German stem
    [InlineData("inundación", "es1")]
    [InlineData("inondation", "fr1")]
    [InlineData("powodzie", "pl1")]
    [InlineData("flooded", "en1")]
    public void Search_AnotherFormOfAWord_FindsThePostInItsOwnLanguage(string question, string expected)
    {
        var index = new KeywordIndex();
        index.Upsert("de1", 1, 100, "bsky", "de", "Überschwemmungen in Köln, Straßen gesperrt");
        index.Upsert("es1", 2, 100, "bsky", "es", "Las inundaciones cortaron la carretera");
        index.Upsert("fr1", 3, 100, "bsky", "fr", "Inondations dans le sud, routes fermées");
        index.Upsert("pl1", 4, 100, "bsky", "pl", "powodzie w Krakowie");
        index.Upsert("en1", 5, 100, "bsky", "en", "Floods close the river road");

        Assert.Equal([expected], index.Search(FtsQuery.Terms(question), 10, All).Select(h => h.Key));
    }

    [Fact]
    public void Remove_WithTheLanguageItWasIndexedIn_KeepsWordCountsExact()
    {
        string[] rest = ["Sonne in Berlin", "Regen in Hamburg", "Wind über Bremen", "Nebel am Rhein", "Schnee bei München"];
        var index = new KeywordIndex();
        var fresh = new KeywordIndex(); // what the index holds after the removal, built from scratch
        index.Upsert("de1", 1, 100, "bsky", "de", "Überschwemmungen und Regen in Köln");
        for (var i = 0; i < rest.Length; i++)
        {
            index.Upsert($"r{i}", 2 + i, 100, "bsky", "de", rest[i]);
            fresh.Upsert($"r{i}", 2 + i, 100, "bsky", "de", rest[i]);
        }

        Assert.True(index.Remove("de1", "Überschwemmungen und Regen in Köln", "de"));

        Assert.Equal(
            fresh.Search(FtsQuery.Terms("Regen"), 10, All).Select(h => (h.Key, Math.Round(h.Score, 9))),
            index.Search(FtsQuery.Terms("Regen"), 10, All).Select(h => (h.Key, Math.Round(h.Score, 9))));
        Assert.Empty(index.Search(FtsQuery.Terms("Überschwemmung"), 10, All));
    }
}
