using StreamIngest.Enrich.Signals;

namespace StreamIngest.Core.Tests.Signals;

public class SentimentNgramsTests
{
    [Fact]
    public void Buckets_HoldEachWordAndEachAdjacentPair_InOrder()
    {
        var notGood = SentimentNgrams.Buckets("not good", 16);
        var goodNot = SentimentNgrams.Buckets("good not", 16);
        var good = SentimentNgrams.Buckets("good", 16);
        var not = SentimentNgrams.Buckets("not", 16);

        Assert.Equal(3, notGood.Length); // "not", "good", "not good"
        Assert.Subset(notGood.ToHashSet(), good.Concat(not).ToHashSet());
        Assert.NotEqual(notGood, goodNot); // the pair is ordered
        Assert.Equal(notGood.Order(), notGood);
        Assert.All(notGood, b => Assert.InRange(b, 0, (1 << 16) - 1));
    }

    [Fact]
    public void Buckets_FoldCaseLinksAndMentions_AndKeepEmojiAndExclamations()
    {
        Assert.Equal(SentimentNgrams.Buckets("GREAT game @alice https://a.example/x", 16), SentimentNgrams.Buckets("great game @bob http://b.example", 16));
        Assert.NotEqual(SentimentNgrams.Buckets("great game", 16), SentimentNgrams.Buckets("great game 😭", 16));
        Assert.NotEqual(SentimentNgrams.Buckets("great game", 16), SentimentNgrams.Buckets("great game!!!", 16));
        Assert.Empty(SentimentNgrams.Buckets("   ", 16));
    }

    [Fact]
    public void Buckets_AreTheSameInEveryProcess()
    {
        // The committed weights are indexed by these buckets: a hash that changed between runs (string.GetHashCode)
        // or versions would silently scramble them.
        Assert.Equal([2582, 12760, 40074], SentimentNgrams.Buckets("not good", 16));
    }

    [Fact]
    public void Head_ReadsTheWordBucketsBesideTheEmbedding()
    {
        var good = SentimentNgrams.Buckets("good", 8);
        var rows = new float[3][];
        for (var c = 0; c < 3; c++)
        {
            rows[c] = new float[1 << 8];
        }

        rows[2][good[0]] = 4; // "good" pushes towards positive
        var head = new LinearHead { Classes = ["negative", "neutral", "positive"], Weights = [[0f], [0f], [0f]], Bias = [0, 0, 0], BucketBits = 8, BucketWeights = rows };

        var withWord = head.Probabilities([1f], "good");
        var without = head.Probabilities([1f], "fine");

        Assert.Equal(2, Array.IndexOf(withWord, withWord.Max()));
        Assert.Equal(1 / 3.0, without[2], 6);
        Assert.Equal(head.Probabilities([1f]), head.Probabilities([1f], "fine"));
    }
}
