using StreamIngest.Enrich;

namespace StreamIngest.Core.Tests.Enrich;

public class HtmlTextTests
{
    [Fact]
    public void ToPlainText_MastodonStatus_KeepsTextAndBreaksParagraphs()
    {
        const string html = "<p>Flooding on <a href=\"https://x.example/tags/flood\" class=\"mention hashtag\">#<span>flood</span></a> street</p><p>Stay safe &amp; dry&nbsp;!</p>";

        Assert.Equal("Flooding on #flood street\nStay safe & dry !", HtmlText.ToPlainText(html).Trim());
    }

    [Fact]
    public void ToPlainText_ScriptStyleAndComments_AreDropped()
    {
        const string html = "a<script>alert('x')</script>b<style>p{}</style>c<!-- hidden -->d";

        Assert.Equal("abcd", HtmlText.ToPlainText(html));
    }

    [Theory]
    [InlineData("a < b and c > d", "a < b and c > d")]
    [InlineData("I <3 this", "I <3 this")]
    [InlineData("unterminated <b", "unterminated <b")]
    public void ToPlainText_AngleBracketsThatAreNotTags_StayText(string input, string expected)
    {
        Assert.Equal(expected, HtmlText.ToPlainText(input));
    }

    /// <summary>100,000 nested elements and 50,000 stray '<': a recursive parser would overflow the stack (and kill the worker).</summary>
    [Fact]
    public void ToPlainText_DeeplyNestedHostileMarkup_KeepsTheTextWithoutOverflowing()
    {
        var html = string.Concat(Enumerable.Repeat("<div><span>", 50_000)) + "x" + string.Concat(Enumerable.Repeat("<", 50_000));

        var text = HtmlText.ToPlainText(html);

        Assert.Equal("x", text.Replace("<", string.Empty, StringComparison.Ordinal).Trim());
    }
}
