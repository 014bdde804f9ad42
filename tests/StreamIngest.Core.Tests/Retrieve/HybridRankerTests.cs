using Microsoft.Extensions.Time.Testing;
using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Core.Tests.Retrieve;

public class HybridRankerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static HybridRanker Ranker(RankingOptions? options = null) => new(options ?? new RankingOptions(), new FakeTimeProvider(Now));

    private static Post P(string id, TimeSpan age, string? hash = null, long likes = 0)
    {
        var p = StandardEnricherTests.NewPost("text", id);
        p.CreatedAt = Now - age;
        p.ContentHash = hash ?? id;
        p.Metrics = likes > 0 ? new Engagement(Likes: likes) : null;
        return p;
    }

    [Fact]
    public void Rank_ScoreFusion_KeywordOnlyCandidateIsRankedByItsExactSimilarityPlusTheKeywordBonus()
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero), P("c", TimeSpan.Zero) }.ToDictionary(p => p.Id);
        var ranker = Ranker(new RankingOptions { KeywordWeight = 0.1, RecencyWeight = 0 });
        // c was found by keywords only, but is closer to the query than either vector hit.
        var similarity = new Dictionary<string, double> { ["test:a"] = 0.60, ["test:b"] = 0.55, ["test:c"] = 0.70 };

        var hits = ranker.Rank([new("test:a", 0.60), new("test:b", 0.55)], [new("test:b", 8), new("test:c", 4)], posts, 3, false, similarity);

        Assert.Equal(["test:c", "test:b", "test:a"], hits.Select(h => h.Post.Id));
        Assert.Equal(0.70 + 0.1 * 4 / 8, hits[0].Score.Fused, 12);
        Assert.Equal(0.55 + 0.1, hits[1].Score.Fused, 12); // the best keyword match gets the whole weight
        Assert.Equal(0.70, hits[0].Score.Vector);
    }

    [Fact]
    public void Rank_ScoreFusionWithoutKeywordWeight_IsTheVectorOrder()
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero) }.ToDictionary(p => p.Id);
        var similarity = new Dictionary<string, double> { ["test:a"] = 0.6, ["test:b"] = 0.5 };

        var hits = Ranker(new RankingOptions { KeywordWeight = 0 }).Rank([new("test:a", 0.6), new("test:b", 0.5)], [new("test:b", 20)], posts, 2, false, similarity);

        Assert.Equal(["test:a", "test:b"], hits.Select(h => h.Post.Id));
    }

    [Fact]
    public void Rank_WithACalibration_EstimatesRelevanceFromTheFusedScore_AndLeavesOutWhatIsBelowTheMinimum()
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero), P("c", TimeSpan.Zero) }.ToDictionary(p => p.Id);
        var calibration = new RelevanceCalibration(KeywordWeight: 0.1, Slope: 10, Intercept: -5); // 0.5 at a fused score of 0.5
        var ranker = Ranker(new RankingOptions { KeywordWeight = 0.1, RecencyWeight = 0, Calibration = calibration });
        var similarity = new Dictionary<string, double> { ["test:a"] = 0.60, ["test:b"] = 0.40, ["test:c"] = 0.20 };
        Candidate[] vector = [new("test:a", 0.60), new("test:b", 0.40), new("test:c", 0.20)];
        Candidate[] keyword = [new("test:b", 6)];

        var all = ranker.Rank(vector, keyword, posts, 3, false, similarity);
        var confident = ranker.Rank(vector, keyword, posts, 3, false, similarity, minRelevance: 0.5);

        Assert.Equal(1 / (1 + Math.Exp(-(10 * 0.60 - 5))), all[0].Score.Relevance!.Value, 4);
        Assert.Equal(0.5, all.Single(h => h.Post.Id == "test:b").Score.Relevance!.Value, 4); // 0.40 + the whole keyword weight
        Assert.Equal(["test:a", "test:b"], confident.Select(h => h.Post.Id)); // c (0.2 → 0.05) is left out
        Assert.All(Ranker(new RankingOptions()).Rank(vector, keyword, posts, 3, false, similarity), h => Assert.Null(h.Score.Relevance)); // no calibration, no estimate
    }

    [Theory]
    [InlineData("東京 大雨", true)]
    [InlineData("наводнение в Москве", true)]
    [InlineData("inundaciones en Valencia", false)] // Latin script: the model reads it as well as it can
    [InlineData("flood in Köln", false)]
    public void Rank_EnglishOnlyEmbedder_WeighsTheKeywordMatchMoreForAQuestionInAScriptItCannotRead(string question, bool weighed)
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero) }.ToDictionary(p => p.Id);
        var similarity = new Dictionary<string, double> { ["test:a"] = 0.50, ["test:b"] = 0.30 };
        Candidate[] vector = [new("test:a", 0.50), new("test:b", 0.30)];
        Candidate[] keyword = [new("test:b", 9), new("test:a", 3)];
        var ranker = Ranker(new RankingOptions { KeywordWeight = 0.1, RecencyWeight = 0, EnglishOnlyEmbedder = true, OtherScriptKeywordFactor = 3 });

        var hits = ranker.Rank(vector, keyword, posts, 2, false, similarity, question: question);

        // Weighed: b's exact words (0.30 + 3 × 0.1) beat a's closer vector (0.50 + 3 × 0.1 / 3); else a leads (0.50 + 0.033 against 0.40).
        Assert.Equal(weighed ? ["test:b", "test:a"] : ["test:a", "test:b"], hits.Select(h => h.Post.Id));
        Assert.Equal(0.30 + (weighed ? 0.3 : 0.1), hits.Single(h => h.Post.Id == "test:b").Score.Fused, 12);
    }

    [Fact]
    public void Rank_RrfFusion_IgnoresSimilarities()
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero) }.ToDictionary(p => p.Id);
        var similarity = new Dictionary<string, double> { ["test:a"] = 0.9, ["test:b"] = 0.1 };

        var hits = Ranker(new RankingOptions { Fusion = FusionMethod.Rrf }).Rank([new("test:a", 0.9), new("test:b", 0.1)], [new("test:b", 3)], posts, 2, false, similarity);

        Assert.Equal("test:b", hits[0].Post.Id); // in both lists
    }

    [Fact]
    public void Rank_WithoutSimilarities_PostInBothListsBeatsPostsInOneList()
    {
        var posts = new[] { P("a", TimeSpan.Zero), P("b", TimeSpan.Zero), P("c", TimeSpan.Zero) }.ToDictionary(p => p.Id);

        var hits = Ranker().Rank([new("test:a", 0.9), new("test:b", 0.8)], [new("test:c", 9), new("test:b", 5)], posts, 3, false);

        Assert.Equal(["test:b", "test:a", "test:c"], hits.Select(h => h.Post.Id));
        Assert.Equal(0.8, hits[0].Score.Vector);
        Assert.Equal(5, hits[0].Score.Keyword);
        Assert.Equal(1.0 / 62 + 1.0 / 62, hits[0].Score.Fused, 12);
    }

    [Fact]
    public void Rank_EqualRelevance_NewerPostFirstAndOneHalfLifeHalvesRecency()
    {
        var ranker = Ranker(new RankingOptions { HalfLife = TimeSpan.FromHours(2), RecencyWeight = 1 });
        var posts = new[] { P("old", TimeSpan.FromHours(2)), P("new", TimeSpan.FromMinutes(1)) }.ToDictionary(p => p.Id);

        var hits = ranker.Rank([new("test:old", 0.9)], [new("test:new", 3)], posts, 2, false);

        Assert.Equal("test:new", hits[0].Post.Id);
        Assert.Equal(0.5, hits[1].Score.Recency, 9);
        Assert.Equal(hits[1].Score.Fused * 0.5, hits[1].Score.Final, 12);
    }

    [Fact]
    public void Rank_Engagement_IsAMildBoundedBoost()
    {
        var ranker = Ranker(new RankingOptions { EngagementWeight = 0.1 });

        Assert.Equal(1, ranker.EngagementFactor(null));
        Assert.InRange(ranker.EngagementFactor(new Engagement(Likes: 10)), 1.01, 1.03);
        Assert.Equal(1.1, ranker.EngagementFactor(new Engagement(Likes: 10_000_000)), 9);
    }

    [Fact]
    public void Rank_ExactDuplicates_CollapseIntoTheBestRankedWithACount()
    {
        var posts = new[] { P("a", TimeSpan.Zero, "h1"), P("b", TimeSpan.Zero, "h1"), P("c", TimeSpan.Zero, "h2"), P("d", TimeSpan.Zero, "h1") }.ToDictionary(p => p.Id);

        var hits = Ranker().Rank([new("test:a", 0.9), new("test:b", 0.8), new("test:c", 0.7), new("test:d", 0.6)], [], posts, 10, true);

        Assert.Equal(["test:a", "test:c"], hits.Select(h => h.Post.Id));
        Assert.Equal(2, hits[0].Duplicates);
    }

    [Fact]
    public void Rank_CandidateDeletedBeforeLoad_IsSkipped()
    {
        var posts = new[] { P("a", TimeSpan.Zero) }.ToDictionary(p => p.Id);

        var hits = Ranker().Rank([new("test:gone", 0.99), new("test:a", 0.5)], [], posts, 10, true);

        Assert.Equal("test:a", Assert.Single(hits).Post.Id);
    }
}
