using StreamIngest.Enrich;

namespace StreamIngest.Core.Tests.Enrich;

public class EntityExtractorTests
{
    [Theory]
    [InlineData("Buying $TSLA and $nvda today", new[] { "TSLA", "NVDA" })]
    [InlineData("Berkshire $BRK.B looks cheap", new[] { "BRK.B" })]
    [InlineData("Tickets are $5 and the deal is $1.2bn", new string[0])]
    [InlineData("price$TSLA is glued, not a cashtag", new string[0])]
    [InlineData("$TSLA, $TSLA and $tsla again", new[] { "TSLA" })]
    public void Extract_Cashtags_AreUpperCaseTickersAndNeverAmounts(string text, string[] expected)
    {
        Assert.Equal(expected, EntityExtractor.Extract(text).Cashtags);
    }

    [Theory]
    [InlineData("Floods! #RivertonFlood #rivertonflood and #Évacuation", new[] { "rivertonflood", "évacuation" })]
    [InlineData("We're #1 and #2024 is a year", new string[0])]
    [InlineData("see page.html#section and a&#39;b", new string[0])]
    public void Extract_Hashtags_AreLowerCaseWordsWithALetter(string text, string[] expected)
    {
        Assert.Equal(expected, EntityExtractor.Extract(text).Hashtags);
    }

    [Theory]
    [InlineData("thanks @Alice and @bob_99.", new[] { "alice", "bob_99" })]
    [InlineData("cc @alice.bsky.social", new[] { "alice.bsky.social" })]
    [InlineData("boosted by @Gargron@mastodon.social", new[] { "gargron@mastodon.social" })]
    [InlineData("mail me at someone@example.com", new string[0])]
    public void Extract_Mentions_CoverXBlueskyAndFediverseHandles(string text, string[] expected)
    {
        Assert.Equal(expected, EntityExtractor.Extract(text).Mentions);
    }

    [Fact]
    public void Extract_Urls_TrimTrailingPunctuationAndCanonicalise()
    {
        var e = EntityExtractor.Extract("Read https://News.Example.com/a?id=7&utm_source=x. Also (https://example.org/wiki/Foo_(bar)), ok");

        Assert.Equal(["https://news.example.com/a?id=7", "https://example.org/wiki/Foo_(bar)"], e.Urls);
    }

    [Fact]
    public void Merge_SourceGivenAndFound_AreNormalisedAndDeduplicated()
    {
        var given = new Model.PostEntities(["#Flood"], ["$tsla"], ["@Alice"], ["https://EXAMPLE.com/x?utm_medium=y"]);
        var found = EntityExtractor.Extract("#flood $TSLA @alice https://example.com/x");

        var merged = EntityExtractor.Merge(given, found);

        Assert.Equal(["flood"], merged.Hashtags);
        Assert.Equal(["TSLA"], merged.Cashtags);
        Assert.Equal(["alice"], merged.Mentions);
        Assert.Equal(["https://example.com/x"], merged.Urls);
    }
}
