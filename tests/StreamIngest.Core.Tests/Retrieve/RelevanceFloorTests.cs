using Microsoft.Extensions.Time.Testing;
using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Core.Tests.Retrieve;

public class RelevanceFloorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Answers from a fixed list: inside a window only the hits made within it, without one all of them.</summary>
    private sealed class FixedRetriever(params (string Id, double? Vector, double? Keyword, DateTimeOffset At)[] hits) : IRetriever
    {
        public List<SearchQuery> Asked { get; } = [];

        public Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
        {
            Asked.Add(query);
            var found = hits
                .Where(h => (query.Since is null || h.At >= query.Since) && (query.Until is null || h.At <= query.Until))
                .Select(h =>
                {
                    var post = StandardEnricherTests.NewPost("text " + h.Id, h.Id);
                    post.CreatedAt = h.At;
                    return new SearchHit(post, new ScoreParts(h.Vector, h.Keyword, 1, 0, h.Vector ?? 0, h.Vector ?? 0), 0);
                })
                .ToList();
            return Task.FromResult(new SearchResult(found, found.Count, query.Mode));
        }
    }

    [Fact]
    public async Task ResultsBelowTheFloor_AreDropped_AndTheRestKeepTheirOrder()
    {
        var floor = new RelevanceFloor(new FixedRetriever(("a", 0.62, null, Now), ("b", 0.17, 3.1, Now), ("c", 0.41, null, Now), ("d", 0.2, null, Now), ("e", 0.12, 2.0, Now)), 0.3, new FakeTimeProvider(Now));

        var result = await floor.SearchAsync(new SearchQuery { Text = "derailment" }, CancellationToken.None);

        // b contains the question's words and is half as close; e shares a word by chance and is not
        Assert.Equal(["test:a", "test:b", "test:c"], result.Hits.Select(h => h.Post.Id));
        Assert.Null(result.Abstention);
    }

    [Fact]
    public async Task NothingInTheWindowClears_Abstains_AndSaysHowOldTheNewestMatchOutsideIs()
    {
        var inner = new FixedRetriever(("helicopter", 0.13, null, Now.AddHours(-2)), ("derailment", 0.71, null, Now.AddDays(-30)), ("older", 0.66, null, Now.AddDays(-45)));
        var floor = new RelevanceFloor(inner, 0.3, new FakeTimeProvider(Now));

        var result = await floor.SearchAsync(new SearchQuery { Text = "What caused the train derailment?", Since = Now.AddDays(-7), Until = Now }, CancellationToken.None);

        Assert.Empty(result.Hits);
        Assert.Equal(Now.AddDays(-30), result.Abstention!.NewestMatchAt);
        Assert.Equal("No post in the searched window is about this question; the newest matching post is 30 days old (2026-11-07T12:00:00Z).", result.Abstention.Reason);
        Assert.Null(inner.Asked[1].Since); // the second look is without the window
    }

    [Theory]
    [InlineData("How many people were killed in the 2013 Pakistan earthquake?", new[] { "Pakistan" })]
    [InlineData("Which roads were damaged by Typhoon Hagupit?", new[] { "Typhoon", "Hagupit" })]
    [InlineData("What are the symptoms of MERS? Is Ebola worse?", new[] { "MERS", "Ebola" })] // "Is" starts a sentence
    [InlineData("What caused the train derailment?", new string[0])]
    [InlineData("what is $NVDA doing after earnings", new[] { "NVDA" })]
    [InlineData("I think the Fed cut rates", new[] { "Fed" })] // "I" is one letter
    public void NamesIn_CapitalisedWordsInsideASentence_AndWordsInCapitals(string question, string[] expected)
    {
        Assert.Equal(expected, RelevanceFloor.NamesIn(question));
    }

    [Fact]
    public async Task NoPostMentionsWhatTheQuestionNames_Abstains_AndSaysWhereTheNewestThatDoesIs()
    {
        // Close in meaning (another country's earthquake), but none of the window's posts says "Nepal".
        var inner = new FixedRetriever(("pakistan-quake-toll", 0.64, 2.0, Now.AddHours(-3)), ("pakistan-aid", 0.55, null, Now.AddHours(-5)), ("nepal-quake-toll", 0.66, 2.0, Now.AddDays(-30)));
        var floor = new RelevanceFloor(inner, 0.2, new FakeTimeProvider(Now));

        var away = await floor.SearchAsync(new SearchQuery { Text = "How many died in the Nepal earthquake?", Since = Now.AddDays(-7), Until = Now }, CancellationToken.None);
        var inside = await floor.SearchAsync(new SearchQuery { Text = "How many died in the Nepal earthquake?", Since = Now.AddDays(-31), Until = Now }, CancellationToken.None);

        Assert.Empty(away.Hits);
        Assert.Equal("No post in the searched window mentions Nepal; the newest matching post is 30 days old (2026-11-07T12:00:00Z).", away.Abstention!.Reason);
        Assert.Equal(3, inside.Hits.Count); // one post names it: the window answers, with all it found
        Assert.Null(inside.Abstention);
    }

    private sealed class EstimatedRetriever(params (string Id, double Vector, double Relevance)[] hits) : IRetriever
    {
        public Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken) =>
            Task.FromResult(new SearchResult(
                [.. hits.Select(h => new SearchHit(StandardEnricherTests.NewPost("text " + h.Id, h.Id), new ScoreParts(h.Vector, 2.0, 1, 1, h.Vector, h.Vector) { Relevance = h.Relevance }, 0))],
                hits.Length, query.Mode));
    }

    [Fact]
    public async Task MinEstimate_DropsWhatClearsTheCosineFloorButIsEstimatedNotAboutTheQuestion()
    {
        // "Follow Train" against a derailment question: its shared word lifts the cosine, not the estimate.
        var inner = new EstimatedRetriever(("follow-train", 0.37, 0.0127), ("derailment", 0.58, 0.93));
        var time = new FakeTimeProvider(Now);

        var plain = await new RelevanceFloor(inner, 0.2, time).SearchAsync(new SearchQuery { Text = "What caused the train derailment?" }, CancellationToken.None);
        var estimated = await new RelevanceFloor(inner, 0.2, time) { MinEstimate = 0.02 }.SearchAsync(new SearchQuery { Text = "What caused the train derailment?" }, CancellationToken.None);

        Assert.Equal(2, plain.Hits.Count);
        Assert.Equal(["test:derailment"], estimated.Hits.Select(h => h.Post.Id));
    }

    [Fact]
    public async Task MinEstimate_IsNotAppliedToAQuestionLongerThanTheEmbedderReadsWhole()
    {
        var inner = new EstimatedRetriever(("flood-post", 0.31, 0.0004));
        var pasted = string.Concat(Enumerable.Repeat("Background notes from the council meeting. ", 10)) + "Which streets are flooded?";

        var result = await new RelevanceFloor(inner, 0.2, new FakeTimeProvider(Now)) { MinEstimate = 0.02 }.SearchAsync(new SearchQuery { Text = pasted }, CancellationToken.None);

        Assert.True(pasted.Length > RelevanceFloor.MaxEstimatedQuestionChars);
        Assert.Equal(["test:flood-post"], result.Hits.Select(h => h.Post.Id)); // the cosine floor alone decides
    }

    [Fact]
    public async Task NothingAnywhere_AbstainsWithoutATime()
    {
        var floor = new RelevanceFloor(new FixedRetriever(("pool-party", 0.1, null, Now)), 0.3, new FakeTimeProvider(Now));

        var result = await floor.SearchAsync(new SearchQuery { Text = "derailment" }, CancellationToken.None);

        Assert.Equal(new Abstention("No stored post is about this question.", null), result.Abstention);
    }

    [Fact]
    public async Task KeywordSearches_AndPostsWithoutAVector_PassOnTheirKeywordMatch()
    {
        var inner = new FixedRetriever(("kw", 0.05, 2.0, Now), ("novector", null, 1.5, Now));
        // (kw's cosine is far below even half the floor: only the keyword search returns it)
        var floor = new RelevanceFloor(inner, 0.3, new FakeTimeProvider(Now));

        var keyword = await floor.SearchAsync(new SearchQuery { Text = "derailment", Mode = SearchMode.Keyword }, CancellationToken.None);
        var hybrid = await floor.SearchAsync(new SearchQuery { Text = "derailment" }, CancellationToken.None);

        Assert.Equal(2, keyword.Hits.Count);
        Assert.Equal(["test:novector"], hybrid.Hits.Select(h => h.Post.Id));
    }

    [Fact]
    public async Task NoCandidatesAtAll_AbstainsToo()
    {
        var floor = new RelevanceFloor(new FixedRetriever(), 0.3, new FakeTimeProvider(Now));

        var result = await floor.SearchAsync(new SearchQuery { Text = "derailment", Since = Now.AddHours(-1) }, CancellationToken.None);

        Assert.Empty(result.Hits);
        Assert.Equal(new Abstention("No post in the searched window is about this question.", null), result.Abstention);
    }
}
