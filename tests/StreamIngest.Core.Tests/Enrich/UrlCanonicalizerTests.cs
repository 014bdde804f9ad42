using StreamIngest.Enrich;

namespace StreamIngest.Core.Tests.Enrich;

public class UrlCanonicalizerTests
{
    [Theory]
    [InlineData("HTTPS://News.Example.COM/Path/Case", "https://news.example.com/Path/Case")]
    [InlineData("https://example.com/a?utm_source=tw&utm_medium=social&id=42", "https://example.com/a?id=42")]
    [InlineData("https://example.com/a?fbclid=abc&b=2&gclid=x&a=1", "https://example.com/a?b=2&a=1")]
    [InlineData("https://example.com/a?utm_campaign=x", "https://example.com/a")]
    [InlineData("http://example.com:80/a#section", "http://example.com/a")]
    [InlineData("https://example.com:8443/a", "https://example.com:8443/a")]
    [InlineData("https://bücher.example/x", "https://xn--bcher-kva.example/x")]
    public void Canonicalize_HttpUrls_LowerCasesHostAndDropsTracking(string input, string expected)
    {
        Assert.Equal(expected, UrlCanonicalizer.Canonicalize(input));
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("ftp://example.com/file")]
    [InlineData("not a url")]
    [InlineData("")]
    [InlineData(null)]
    public void Canonicalize_NonHttp_ReturnsNull(string? input)
    {
        Assert.Null(UrlCanonicalizer.Canonicalize(input));
    }
}
