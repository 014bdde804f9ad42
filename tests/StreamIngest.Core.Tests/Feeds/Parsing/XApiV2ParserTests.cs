using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Parsing;

public class XApiV2ParserTests
{
    private static readonly ParseContext Context = new("test", "x-fixture", DateTimeOffset.UnixEpoch);

    private static List<ParseOutcome> ParseFile(params string[] path)
    {
        var parser = new WireLineParser();
        return [.. File.ReadAllLines(TestPaths.Fixture(path)).Where(l => l.Length > 0).Select(l => parser.Parse(l, Context))];
    }

    [SkippableFact]
    public void Parse_RecordedFilteredStream_YieldsEightTweetsOneDisconnectNoticeAndTheDuplicate()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);

        var outcomes = ParseFile("x-api-v2", "stream", "streaming_output.jsonl");

        var posts = outcomes.SelectMany(o => o.Events).Select(e => e.Post!).ToList();
        Assert.Equal(8, posts.Count);
        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.Contains(outcomes, o => o.Notice is not null && o.Notice.Contains("operational-disconnect", StringComparison.Ordinal));
        Assert.Equal(7, posts.Select(p => p.Id).Distinct().Count()); // lines 8 and 9 are the same delivery
        Assert.Equal("x:1377650090978992134", posts[0].Id);
        Assert.Equal("x:1377640162566496258", posts[0].Relations.QuoteOf);
    }

    [SkippableFact]
    public void Parse_RecordedStreamWithTruncatedLastLine_RejectsOnlyThatLine()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);

        var outcomes = ParseFile("x-api-v2", "stream", "streaming_output_with_error.jsonl");

        Assert.Equal(7, outcomes.Count(o => o.Events.Count == 1));
        var rejected = Assert.Single(outcomes, o => o.Error is not null);
        Assert.StartsWith("malformed JSON", rejected.Error, StringComparison.Ordinal);
        Assert.Same(outcomes[^1], rejected);
    }

    [SkippableFact]
    public void Parse_RecordedSearchPage_JoinsAuthorsFromIncludesUsers()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);

        var outcome = Assert.Single(ParseFile("x-api-v2", "search_recent", "brexit.jsonl"));

        Assert.Equal(100, outcome.Events.Count);
        var posts = outcome.Events.Select(e => e.Post!).ToList();
        Assert.All(posts, p => Assert.NotEqual(Author.Unknown, p.Author));
        Assert.True(posts.Count(p => p.Author.Followers is not null) >= 95);
        Assert.All(posts, p => Assert.StartsWith($"https://x.com/{p.Author.Handle}/status/", p.Url, StringComparison.Ordinal));
        Assert.All(posts, p => Assert.NotNull(p.Metrics));
    }

    [SkippableFact]
    public void Parse_RecordedCashtagTweet_KeepsEveryCashtagGivenBySource()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);

        var post = Assert.Single(ParseFile("x-api-v2", "tweets_lookup", "cashtags.jsonl").SelectMany(o => o.Events)).Post!;

        Assert.Equal(11, post.Entities.Cashtags.Count);
        Assert.Contains("META", post.Entities.Cashtags);
    }

    [Fact]
    public void Parse_StreamMessageWithStringRuleIdAndTwarcKey_IsAccepted()
    {
        const string line = """
            {"data":{"id":"42","text":"hello $AAPL","created_at":"2026-11-20T10:00:00.000Z","author_id":"7","lang":"en",
             "public_metrics":{"like_count":3,"retweet_count":1,"reply_count":0,"quote_count":0},
             "referenced_tweets":[{"type":"retweeted","id":"41"}]},
             "includes":{"users":[{"id":"7","username":"someone","name":"Some One","public_metrics":{"followers_count":99}}]},
             "matching_rules":[{"id":"1377649934414049282","tag":"apple"}],"__twarc":{"url":"x"}}
            """;

        var post = Assert.Single(new WireLineParser().Parse(line.ReplaceLineEndings(" "), Context).Events).Post!;

        Assert.Equal("x:42", post.Id);
        Assert.Equal(new Author("someone", "Some One", 99, "7"), post.Author);
        Assert.Equal("x:41", post.Relations.RepostOf);
        Assert.Equal(new Engagement(3, 1, 0, 0), post.Metrics);
        Assert.Equal("https://x.com/someone/status/42", post.Url);
    }

    [Theory]
    [InlineData("""{"data":{"id":"1","text":"no time"}}""", "X tweet without id, text or created_at")]
    [InlineData("""[1,2]""", "expected a JSON object, got Array")]
    [InlineData("""{"hello":"world"}""", "unrecognised line: not a normalised post, X API v2 payload or Jetstream event")]
    public void Parse_UnusableLine_IsRejectedWithReason(string line, string reason)
    {
        Assert.Equal(reason, new WireLineParser().Parse(line, Context).Error);
    }

    [Fact]
    public void Parse_InvalidUtf8Bytes_IsRejectedNotReplaced()
    {
        byte[] line = [.. "{\"source\":\"t\",\"id\":\"1\",\"text\":\""u8, 0xC3, 0x28, .. "\"}"u8];

        var outcome = new WireLineParser().Parse(line, Context);

        Assert.Equal("invalid UTF-8 at byte 31", outcome.Error);
    }
}
