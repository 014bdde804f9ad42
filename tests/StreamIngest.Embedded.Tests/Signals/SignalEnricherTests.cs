using StreamIngest.Enrich;
using StreamIngest.Enrich.Safety;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Embedded.Tests.Signals;

/// <summary>The committed signal heads on real MiniLM vectors: the labels a reader would give, and the policies.</summary>
[Collection(EmbedderCollection.Name)]
public class SignalEnricherTests(EmbedderFixture fixture)
{
    private static readonly SignalModel Model = SignalModel.Load(Path.Combine(TestPaths.RepoRoot, "src", "StreamIngest.Host", "models", "signals-minilm.json"));

    private Post Embedded(string text)
    {
        var post = new Post
        {
            Id = "test:1",
            Source = "test",
            NativeId = "1",
            CreatedAt = DateTimeOffset.UnixEpoch,
            Text = text,
            Provenance = new Provenance("test", "test", DateTimeOffset.UnixEpoch, "00"),
        };
        new StandardEnricher().Enrich(post);
        post.Embedding = fixture.Embedder.Embed([post.Text])[0];
        return post;
    }

    [Theory]
    [InlineData("What a wonderful day, I love this city and everyone who helped after the storm!", "positive")]
    [InlineData("This is awful. The worst service I have ever had, absolutely furious.", "negative")]
    [InlineData("The council meeting is scheduled for 3pm on Tuesday in room 204.", "neutral")]
    public void Enrich_Sentiment_LabelAndScoreAgree(string text, string label)
    {
        var post = Embedded(text);

        new SignalEnricher(Model, new SafetyOptions()).Enrich(post);

        Assert.Equal(label, post.Sentiment!.Label);
        Assert.InRange(post.Sentiment.Score, -1, 1);
        Assert.Equal(label switch { "positive" => 1, "negative" => -1, _ => Math.Sign(post.Sentiment.Score) }, Math.Sign(post.Sentiment.Score));
        Assert.Null(post.Sentiment.Tickers);
    }

    [Fact]
    public void Enrich_Cashtags_GetAFinanceScoreEach()
    {
        var bull = Embedded("$NVDA crushing earnings, going long, breakout to new highs $AMD too");
        var bear = Embedded("$NVDA dumping hard, sold everything, this is going to crash");

        var enricher = new SignalEnricher(Model, new SafetyOptions());
        enricher.Enrich(bull);
        enricher.Enrich(bear);

        Assert.Equal(["AMD", "NVDA"], bull.Sentiment!.Tickers!.Keys.Order());
        Assert.True(bull.Sentiment.Tickers["NVDA"] > bear.Sentiment!.Tickers!["NVDA"], $"bull {bull.Sentiment.Tickers["NVDA"]} vs bear {bear.Sentiment.Tickers["NVDA"]}");
        Assert.True(bear.Sentiment.Tickers["NVDA"] < 0);
    }

    [Fact]
    public void Enrich_OffensivePost_IsFlaggedByDefaultAndDroppedByPolicy()
    {
        const string text = "You are a fucking idiot and everyone hates you, shut up";
        var flagged = Embedded(text);
        var drop = new SafetyOptions();
        drop.Policies["offensive"] = SafetyAction.Drop;

        var none = new SignalEnricher(Model, new SafetyOptions()).Enrich(flagged);
        var reason = new SignalEnricher(Model, drop).Enrich(Embedded(text));

        Assert.Null(none);
        Assert.Contains(flagged.SafetyLabels, l => l.Label == "offensive" && l.Score >= 0.5);
        Assert.StartsWith("offensive ", reason, StringComparison.Ordinal);
        Assert.Contains("Safety:Policies:offensive=drop", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Model_SaysWhatDataMadeItAndHowItScored()
    {
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2", Model.EmbeddingModel);
        Assert.Contains("TweetEval", Model.Data["sentiment"], StringComparison.Ordinal);
        Assert.True(Model.Scores["sentiment_tweeteval_5fold"]["macro_recall"] > 0.5);
        Assert.Contains("SemEval 2013–2016 task 4", Model.Data["sentiment"], StringComparison.Ordinal);
        Assert.True(Model.Scores["sentiment_tweeteval_test"]["macro_recall"] >= 0.65, "the committed head was scored below the 0.65 target on TweetEval's test split");
    }

    [Fact]
    public void Enrich_Sentiment_ReadsThePostsWordsBesideItsEmbedding()
    {
        const string text = "Not bad at all, can't wait for the next one";
        var withWords = Embedded(text);
        var embeddingOnly = Embedded(text);
        var head = Model.Sentiment;
        var withoutBuckets = new SignalModel
        {
            EmbeddingModel = Model.EmbeddingModel, Data = Model.Data, Scores = Model.Scores, SentimentReadsLexicon = Model.SentimentReadsLexicon,
            Sentiment = new LinearHead { Classes = head.Classes, Weights = head.Weights, Bias = head.Bias },
            Finance = Model.Finance, Offensive = Model.Offensive, Hate = Model.Hate,
        };

        new SignalEnricher(Model, new SafetyOptions()).Enrich(withWords);
        new SignalEnricher(withoutBuckets, new SafetyOptions()).Enrich(embeddingOnly);

        Assert.Equal(16, head.BucketBits);
        Assert.NotEqual(embeddingOnly.Sentiment!.Score, withWords.Sentiment!.Score);
        Assert.Equal("positive", withWords.Sentiment.Label);
    }
}
