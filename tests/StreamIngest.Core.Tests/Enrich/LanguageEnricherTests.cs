using StreamIngest.Enrich;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Core.Tests.Enrich;

/// <summary>Language detection for posts without a stated language, measured on real posts whose platform did state it.</summary>
public sealed class LanguageEnricherTests(ITestOutputHelper output)
{
    private static readonly LanguageEnricher Enricher = new();

    [Theory]
    [InlineData("The river is over the bridge and downtown streets are flooding", "en")]
    [InlineData("Der Fluss ist über die Ufer getreten, die Innenstadt steht unter Wasser", "de")]
    [InlineData("O rio transbordou e as ruas do centro estão alagadas", "pt")]
    [InlineData("川が氾濫して、街の中心部が浸水しています", "ja")]
    public void Enrich_NoStatedLanguage_IsDetected(string text, string expected)
    {
        var post = StandardEnricherTests.NewPost(text, lang: null);

        Enricher.Enrich(post);

        Assert.Equal(expected, post.Lang);
    }

    [Theory]
    [InlineData("👍🔥🔥")]
    [InlineData("https://example.com/x")]
    [InlineData("ok")]
    public void Enrich_NothingToGoOn_IsUndetermined(string text)
    {
        var post = StandardEnricherTests.NewPost(text, lang: null);

        Enricher.Enrich(post);

        Assert.Equal("und", post.Lang);
    }

    [Fact]
    public void Enrich_StatedLanguage_IsKept()
    {
        var post = StandardEnricherTests.NewPost("Der Fluss ist über die Ufer getreten", lang: "en");

        Enricher.Enrich(post);

        Assert.Equal("en", post.Lang);
    }

    /// <summary>Real X API v2 and Jetstream posts that state their language: how often detection agrees.</summary>
    [SkippableFact]
    public void Detect_OnRealPostsWithAStatedLanguage_MostlyAgrees()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var parser = new WireLineParser();
        var context = new ParseContext("test", "fixtures", DateTimeOffset.UnixEpoch);
        var posts = Directory.GetFiles(Path.Combine(TestPaths.SharedFixtures, "x-api-v2"), "*.jsonl", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(TestPaths.SharedFixtures, "bluesky-jetstream"), "*.jsonl", SearchOption.AllDirectories))
            .Where(f => !f.Contains("flattened", StringComparison.Ordinal))
            .SelectMany(File.ReadLines)
            .SelectMany(line => parser.Parse(line, context).Events)
            .Select(e => e.Post)
            .OfType<Post>()
            .DistinctBy(p => p.Id)
            .ToList();
        var judged = new List<(string Stated, string Detected, string Text)>();
        var standard = new StandardEnricher();
        foreach (var post in posts)
        {
            if (standard.Enrich(post) is not null || post.Lang is null || !LanguageEnricher.Codes.Contains(post.Lang))
            {
                continue;
            }

            judged.Add((post.Lang, Enricher.Detect(post.Text), post.Text));
        }

        var decided = judged.Where(j => j.Detected != "und").ToList();
        var agree = decided.Count(j => j.Detected == j.Stated);
        foreach (var (stated, detected, text) in decided.Where(j => j.Detected != j.Stated).Take(15))
        {
            output.WriteLine($"stated {stated}, detected {detected}: {text.ReplaceLineEndings(" ")[..Math.Min(100, text.Length)]}");
        }

        var accuracy = agree / (double)decided.Count;
        output.WriteLine($"{judged.Count} real posts with a stated language we detect; {decided.Count} decided ({judged.Count - decided.Count} und); agreement {accuracy:P1}; languages {string.Join(",", judged.Select(j => j.Stated).Distinct())}");
        Assert.True(judged.Count >= 50, $"only {judged.Count} posts judged");
        Assert.True(accuracy >= 0.85, $"agreement {accuracy:P1}");
    }
}
