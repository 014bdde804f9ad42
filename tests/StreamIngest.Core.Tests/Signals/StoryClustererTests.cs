using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Core.Tests.Signals;

public sealed class StoryClustererTests(ITestOutputHelper output)
{
    private static Post Clustered(StoryClusterer clusterer, string id, string text)
    {
        var p = StandardEnricherTests.NewPost(text, id);
        clusterer.Enrich(p);
        return p;
    }

    [Fact]
    public void Enrich_RetweetWithAWordChangedAndATemplateVariant_JoinTheStory_OtherNewsDoesNot()
    {
        var clusterer = new StoryClusterer(new FakeTimeProvider());

        var first = Clustered(clusterer, "1", "Evacuation order for Pine Hollow and Cedar Ridge because of the wildfire, leave now via Route 9");
        var retweet = Clustered(clusterer, "2", "RT @county: Evacuation order for Pine Hollow and Cedar Ridge because of the wildfire, leave now via Route 12");
        var other = Clustered(clusterer, "3", "Cup final tonight at the stadium, kick-off at eight, tickets still available at the gate");

        Assert.Equal("test:1", first.ClusterId);
        Assert.Equal("test:1", retweet.ClusterId);
        Assert.Equal("test:3", other.ClusterId);
    }

    [Fact]
    public void Enrich_ExactCopy_JoinsItsOriginalsStory()
    {
        var clusterer = new StoryClusterer(new FakeTimeProvider());
        var original = Clustered(clusterer, "1", "River over the bridge downtown");
        var copy = StandardEnricherTests.NewPost("River over the bridge downtown!!", "2");
        copy.DuplicateOf = original.Id;

        clusterer.Enrich(copy);

        Assert.Equal(original.ClusterId, copy.ClusterId);
    }

    [Fact]
    public void Enrich_OutsideTheWindow_StartsANewStory()
    {
        var time = new FakeTimeProvider();
        var clusterer = new StoryClusterer(time);
        Clustered(clusterer, "1", "Boil water notice for downtown Riverton after the treatment plant flooded");

        time.Advance(StoryClusterer.Window + TimeSpan.FromMinutes(1));
        var later = Clustered(clusterer, "2", "Boil water notice for downtown Riverton after the treatment plant flooded");

        Assert.Equal("test:2", later.ClusterId);
    }

    /// <summary>Precision and recall against 50 pairs of real crisis tweets judged by hand (story-pairs-alberta.tsv).</summary>
    [SkippableFact]
    public void JudgedCrisisPairs_PrecisionAndRecall()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var texts = File.ReadLines(TestPaths.Fixture("crisislex-t6", "2013_Alberta_Floods", "2013_Alberta_Floods-ontopic_offtopic.csv")).Skip(1).Take(4000)
            .Select(l => Regex.Match(l, "^'\\d+',\"(.*)\",(on|off)-topic$")).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        var clusterer = new StoryClusterer(new FakeTimeProvider());
        var posts = texts.Select((t, i) => Clustered(clusterer, i.ToString(System.Globalization.CultureInfo.InvariantCulture), t)).ToList();
        var judged = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "tests", "StreamIngest.Core.Tests", "Signals", "story-pairs-alberta.tsv"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t'))
            .Select(f => (A: int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), B: int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), Same: f[3] == "same"))
            .ToList();

        var tp = judged.Count(j => j.Same && posts[j.A].ClusterId == posts[j.B].ClusterId);
        var fp = judged.Count(j => !j.Same && posts[j.A].ClusterId == posts[j.B].ClusterId);
        var fn = judged.Count(j => j.Same && posts[j.A].ClusterId != posts[j.B].ClusterId);
        var precision = tp / (double)(tp + fp);
        var recall = tp / (double)(tp + fn);
        output.WriteLine($"stories on 50 hand-judged CrisisLex pairs: precision {precision:F2} ({tp} of {tp + fp}), recall {recall:F2} ({tp} of {tp + fn}); {posts.GroupBy(p => p.ClusterId).Count(g => g.Count() > 1)} stories of 2+ among {posts.Count} tweets");
        Assert.Equal(50, judged.Count);
        Assert.True(precision >= 0.85, $"precision {precision:F2}");
        Assert.True(recall >= 0.7, $"recall {recall:F2}");
    }
}
