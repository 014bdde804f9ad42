using System.Text;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>One host with an empty store, shared by the bad-request tests (they only read the API's validation).</summary>
public sealed class EmptyHostFixture : IAsyncLifetime
{
    public StreamIngestHost Host { get; } = new(TestPaths.NewTempDir(), null);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>Bad parameters and bodies get 400 Problem Details naming what was wrong (one host for all rows).</summary>
public sealed class BadRequestTests(EmptyHostFixture empty) : IClassFixture<EmptyHostFixture>
{
    [Theory]
    [InlineData("/v1/search?k=5", "q")]
    [InlineData("/v1/search?q=x&k=0", "k")]
    [InlineData("/v1/search?q=x&k=abc", "k")]
    [InlineData("/v1/search?q=x&window=yesterday", "window")]
    [InlineData("/v1/search?q=x&window=-PT1H", "window")]
    [InlineData("/v1/search?q=x&mode=fuzzy", "mode")]
    [InlineData("/v1/search?q=x&since=notatime", "since")]
    [InlineData("/v1/search?q=x&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until")]
    [InlineData("/v1/search?q=x&entity=flood", "entity")]
    [InlineData("/v1/search?q=x&lang=english!", "lang")]
    [InlineData("/v1/deadletters?limit=0", "limit")]
    [InlineData("/v1/search?q=x&sentiment=happy", "sentiment")]
    [InlineData("/v1/search?q=x&min_sentiment=2", "min_sentiment")]
    [InlineData("/v1/search?q=x&min_sentiment=0.5&max_sentiment=0.1", "min_sentiment")]
    [InlineData("/v1/search?q=x&safety=maybe", "safety")]
    [InlineData("/v1/search?q=x&min_engagement=-1", "min_engagement")]
    [InlineData("/v1/search?q=x&domain=not%20a%20host", "domain")]
    [InlineData("/v1/search?q=x&author=two%20words", "author")]
    [InlineData("/v1/sentiment?window=PT1H", "entity")]
    [InlineData("/v1/sentiment?entity=flood", "entity")]
    [InlineData("/v1/sentiment?entity=%24NVDA&window=forever", "window")]
    [InlineData("/v1/sentiment?entity=%24NVDA&window=P10675200D", "window")]  // too large for a TimeSpan: a 400, not a 500
    [InlineData("/v1/trends?window=P10675200D", "window")]
    [InlineData("/v1/sentiment?entity=%24NVDA&window=PT1H&bucket=PT2H", "bucket")]
    public async Task BadQueryParameter_Is400ProblemDetailsNamingIt(string url, string parameter)
    {
        using var client = empty.Host.CreateClient();

        var response = await client.GetAsync(url);

        await ProblemAssert.NamesAsync(response, parameter);
    }

    [Theory]
    [InlineData("""{"window":"PT1H"}""", "question")]
    [InlineData("""{"question":"q","maxTokens":5}""", "maxTokens")]
    [InlineData("""{"question":"q","k":1000}""", "k")]
    public async Task BadGroundBody_Is400ProblemDetailsNamingTheField(string body, string field)
    {
        using var client = empty.Host.CreateClient();

        var response = await client.PostAsync("/v1/ground", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.NamesAsync(response, field);
    }

    [Theory]
    [InlineData("/v1/watches", "not json at all")]
    [InlineData("/v1/watches", """{"query": 5}""")]
    [InlineData("/v1/ground", "{\"question\": ")]
    public async Task BodyThatIsNotTheEndpointsJson_Is400ProblemDetailsNamingTheBody(string path, string body)
    {
        using var client = empty.Host.CreateClient();

        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.NamesAsync(response, "body");
    }
}
