using StreamIngest.Enrich;
using StreamIngest.Model;

namespace StreamIngest.Core.Tests.Enrich;

public class StandardEnricherTests
{
    internal static Post NewPost(string text, string id = "1", string? lang = "en", string? url = null) => new()
    {
        Id = Post.MakeId("test", id),
        Source = "test",
        NativeId = id,
        CreatedAt = DateTimeOffset.Parse("2026-11-20T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        Text = text,
        Lang = lang,
        Url = url,
        Provenance = new Provenance("test", "memory", DateTimeOffset.UnixEpoch, "00"),
    };

    [Fact]
    public void Enrich_HtmlPost_BecomesTextWithEntitiesHashAndCanonicalUrl()
    {
        var post = NewPost("<p>Buy $tsla? See https://example.com/x?utm_source=a #EV</p>", lang: "en-US", url: "HTTPS://Example.com/p?utm_medium=b");

        var reason = new StandardEnricher().Enrich(post);

        Assert.Null(reason);
        Assert.Equal("Buy $tsla? See https://example.com/x?utm_source=a #EV", post.Text);
        Assert.Equal(["TSLA"], post.Entities.Cashtags);
        Assert.Equal(["ev"], post.Entities.Hashtags);
        Assert.Equal(["https://example.com/x"], post.Entities.Urls);
        Assert.Equal("https://example.com/p", post.Url);
        Assert.Equal("en", post.Lang);
        Assert.NotNull(post.ContentHash);
    }

    [Fact]
    public void Enrich_OversizedText_IsRejectedWithTheLimit()
    {
        var reason = new StandardEnricher(maxTextChars: 100).Enrich(NewPost(new string('a', 101)));

        Assert.Equal("text is 101 chars, over the limit of 100", reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \u200B ")]
    [InlineData("<p></p><script>x</script>")]
    public void Enrich_NothingLeftAfterNormalisation_IsRejected(string text)
    {
        Assert.Equal("text is empty after normalisation", new StandardEnricher().Enrich(NewPost(text)));
    }

    [Fact]
    public void ContentHash_RetweetAndLinkVariants_CollapseToOneHash()
    {
        var original = ContentHash.Compute("River is over the bridge https://t.co/abc");
        var retweet = ContentHash.Compute("RT @rivertonwx: River is over the BRIDGE https://t.co/xyz");
        var other = ContentHash.Compute("River is under the bridge");

        Assert.Equal(original, retweet);
        Assert.NotEqual(original, other);
    }

    [Theory]
    [InlineData("und", null)]
    [InlineData("pt-BR", "pt")]
    [InlineData(null, null)]
    public void Enrich_Language_IsThePrimarySubtagOrNothing(string? given, string? expected)
    {
        var post = NewPost("hello", lang: given);

        new StandardEnricher().Enrich(post);

        Assert.Equal(expected, post.Lang);
    }
}
