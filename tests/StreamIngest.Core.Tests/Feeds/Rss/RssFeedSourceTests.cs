using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Feeds;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Rss;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Rss;

public class RssFeedSourceTests
{
    [Fact]
    public async Task PollPipeline_ARequestTimedOutByTheRestClient_IsRetried()
    {
        // The host's REST client times out through Microsoft.Extensions.Http.Resilience, which throws Polly's
        // TimeoutRejectedException (not a TimeoutException): a poll that hangs must be retried, not end the feed.
        var calls = 0;
        await FeedResilience.Resolve(null, FeedResilience.RssPoll, new AdvancingTimeProvider()).ExecuteAsync(RssFeedSource.NewBackoff(), _ =>
            ++calls == 1 ? throw new Polly.Timeout.TimeoutRejectedException() : ValueTask.CompletedTask, CancellationToken.None);

        Assert.Equal(2, calls);
    }

    private const string Atom = """
        <?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
          <title>Riverton Gazette</title>
          <id>urn:riverton:gazette</id>
          <updated>2026-11-20T12:00:00Z</updated>
          <entry>
            <title>River crests downtown</title>
            <id>urn:riverton:1</id>
            <link rel="alternate" href="https://gazette.example/river-crests?utm_source=rss"/>
            <updated>2026-11-20T11:30:00Z</updated>
            <summary type="html">&lt;p&gt;The Ash River crested at &lt;b&gt;7 ft&lt;/b&gt; over flood stage.&lt;/p&gt;</summary>
            <author><name>Dana Reyes</name></author>
            <category term="flood"/>
          </entry>
          <entry>
            <title>Shelters open</title>
            <id>urn:riverton:2</id>
            <link href="https://gazette.example/shelters"/>
            <updated>2026-11-20T11:00:00Z</updated>
            <summary>Lincoln High and the Civic Center take evacuees.</summary>
          </entry>
        </feed>
        """;

    private const string Rss2 = """
        <?xml version="1.0"?>
        <rss version="2.0"><channel>
          <title>Lakeport Times</title><link>https://lakeport.example/</link><description>News</description><language>en-us</language>
          <item>
            <title>Subway strike enters day two</title>
            <link>https://lakeport.example/strike-day-two</link>
            <guid>https://lakeport.example/strike-day-two</guid>
            <pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate>
            <description>No trains again today.</description>
          </item>
        </channel></rss>
        """;

    private const string DtdBomb = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <rss version="2.0"><channel><title>&lol2;</title></channel></rss>
        """;

    private static RssFeedSource Source(ListDeadLetters dead, FeedHealth? health = null) =>
        new(new RssOptions(), new HttpClient(), dead, health ?? new FeedHealth("rss", TimeProvider.System), TimeProvider.System, NullLogger<RssFeedSource>.Instance);

    [Fact]
    public async Task FetchAsync_AtomWithETag_ParsesItemsThenUsesConditionalGet()
    {
        var requests = new List<string?>();
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/atom", (HttpContext ctx) =>
        {
            var inm = ctx.Request.Headers.IfNoneMatch.ToString();
            requests.Add(inm);
            if (inm == "\"v1\"")
            {
                return Results.StatusCode(304);
            }

            ctx.Response.Headers.ETag = "\"v1\"";
            return Results.Text(Atom, "application/atom+xml");
        }));
        var source = Source(new ListDeadLetters());
        var feed = new RssFeedOptions { Url = server.Url + "/atom" };
        var state = new RssFeedSource.ConditionalState();

        var first = await source.FetchAsync(feed, state, CancellationToken.None);
        var second = await source.FetchAsync(feed, state, CancellationToken.None);

        Assert.Equal(2, first.Count);
        Assert.Empty(second);
        Assert.Equal(["", "\"v1\""], requests);
        var post = first[0].Post!;
        Assert.StartsWith("rss:127.0.0.1/", post.Id, StringComparison.Ordinal);
        Assert.Equal("River crests downtown\n\n<p>The Ash River crested at <b>7 ft</b> over flood stage.</p>", post.Text);
        Assert.Equal("https://gazette.example/river-crests?utm_source=rss", post.Url);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T11:30:00Z", System.Globalization.CultureInfo.InvariantCulture), post.CreatedAt);
        Assert.Equal("Dana Reyes", post.Author.Handle);
        Assert.Equal(["flood"], post.Entities.Hashtags);
        Assert.Equal("en", post.Lang);
    }

    [Fact]
    public async Task FetchAsync_SameItemTwice_GetsTheSameDeterministicId()
    {
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/rss", () => Results.Text(Rss2, "application/rss+xml")));
        var source = Source(new ListDeadLetters());
        var feed = new RssFeedOptions { Url = server.Url + "/rss" };

        var a = await source.FetchAsync(feed, new RssFeedSource.ConditionalState(), CancellationToken.None);
        var b = await source.FetchAsync(feed, new RssFeedSource.ConditionalState(), CancellationToken.None);

        Assert.Equal(a.Single().PostId, b.Single().PostId);
        Assert.Equal("Subway strike enters day two\n\nNo trains again today.", a.Single().Post!.Text);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), a.Single().Post!.CreatedAt);
    }

    [Theory]
    [InlineData(DtdBomb)]
    [InlineData("<html><body>not a feed</body></html>")]
    [InlineData("<rss><channel><item><title>trunc")]
    public async Task FetchAsync_HostileOrBrokenFeed_IsDeadLetteredNotThrown(string body)
    {
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/bad", () => Results.Text(body, "application/xml")));
        var dead = new ListDeadLetters();

        var events = await Source(dead).FetchAsync(new RssFeedOptions { Url = server.Url + "/bad" }, new RssFeedSource.ConditionalState(), CancellationToken.None);

        Assert.Empty(events);
        Assert.StartsWith("not a valid RSS or Atom feed", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ServerErrorThenRecovery_BacksOffAndKeepsPolling()
    {
        var calls = 0;
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/flaky", () =>
            Interlocked.Increment(ref calls) <= 2 ? Results.StatusCode(503) : Results.Text(Rss2, "application/rss+xml")));
        var time = new AdvancingTimeProvider();
        var health = new FeedHealth("rss", time);
        var source = new RssFeedSource(new RssOptions { Feeds = [new RssFeedOptions { Url = server.Url + "/flaky", IntervalSeconds = 60 }] },
            new HttpClient(), new ListDeadLetters(), health, time, NullLogger<RssFeedSource>.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await using var e = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await e.MoveNextAsync());

        Assert.Equal("Subway strike enters day two\n\nNo trains again today.", e.Current.Post!.Text);
        Assert.True(Volatile.Read(ref calls) >= 3, $"two failures then a success: {calls} calls"); // the next interval may already have polled again
        // Two backoffs, the rest are the 60 s poll interval. "rss-poll" starts at 5 s and doubles, with equal jitter
        // (half fixed, half random): the first wait is 2.5-5 s, the second 5-10 s.
        var backoffs = time.Waits.Where(w => w != TimeSpan.FromSeconds(60)).ToList();
        Assert.Equal(2, backoffs.Count);
        Assert.InRange(backoffs[0], TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(5));
        Assert.InRange(backoffs[1], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        // Health reports the sum rounded to 0.1 s; summed and rounded here, it can land one step away.
        Assert.InRange(health.Snapshot().WaitedSeconds, (backoffs[0] + backoffs[1]).TotalSeconds - 0.1, (backoffs[0] + backoffs[1]).TotalSeconds + 0.1);
        Assert.Contains("503", health.Snapshot().LastError, StringComparison.Ordinal);
        await cts.CancelAsync();
    }
}
