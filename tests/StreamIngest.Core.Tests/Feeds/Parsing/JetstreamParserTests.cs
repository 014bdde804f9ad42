using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Parsing;

public class JetstreamParserTests
{
    private static readonly ParseContext Context = new("test", "jetstream-fixture", DateTimeOffset.UnixEpoch);

    [SkippableFact]
    public void Parse_RecordedEvents_TurnsPostCreatesIntoPostsAndDeletesIntoDeletes()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var parser = new WireLineParser(WireFormat.Jetstream);
        var lines = File.ReadAllLines(TestPaths.Fixture("bluesky-jetstream", "events_v1_real_fixtures.jsonl")).Where(l => l.Length > 0).ToList();

        var outcomes = lines.Select(l => parser.Parse(l, Context)).ToList();

        Assert.All(outcomes, o => Assert.Null(o.Error));
        var events = outcomes.SelectMany(o => o.Events).ToList();
        var expectedCreates = lines.Count(l => l.Contains("\"collection\":\"app.bsky.feed.post\"", StringComparison.Ordinal) && l.Contains("\"operation\":\"create\"", StringComparison.Ordinal));
        var expectedDeletes = lines.Count(l => l.Contains("\"collection\":\"app.bsky.feed.post\"", StringComparison.Ordinal) && l.Contains("\"operation\":\"delete\"", StringComparison.Ordinal));
        Assert.Equal(expectedCreates, events.Count(e => e.Kind == FeedEventKind.Upsert));
        Assert.Equal(expectedDeletes, events.Count(e => e.Kind == FeedEventKind.Delete));
        Assert.True(expectedCreates >= 5, $"fixture should hold several post creates, found {expectedCreates}");
        Assert.All(events, e => Assert.Matches(@"^bsky:did:[a-z]+:[^/]+/[a-z0-9]+$", e.PostId));
        Assert.All(events, e => Assert.Matches(@"^\d{16}$", e.Cursor!));
    }

    [SkippableFact]
    public void Parse_RecordedReply_LinksToItsParentPost()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var parser = new WireLineParser(WireFormat.Jetstream);

        var posts = File.ReadAllLines(TestPaths.Fixture("bluesky-jetstream", "events_v1_real_fixtures.jsonl"))
            .Where(l => l.Length > 0).SelectMany(l => parser.Parse(l, Context).Events).Select(e => e.Post).OfType<Post>().ToList();

        var reply = posts.First(p => p.Id == "bsky:did:plc:yj3sjq3blzpynh27cumnp5ks/3lbhtyteurk2y");
        Assert.Equal("bsky:did:plc:6tr6tuzlx2db3rduzr2d6r24/3lbhqo2rtys2z", reply.Relations.ReplyTo);
        Assert.Equal("en", reply.Lang);
        Assert.Equal("https://bsky.app/profile/did:plc:yj3sjq3blzpynh27cumnp5ks/post/3lbhtyteurk2y", reply.Url);
    }

    [Fact]
    public void Parse_V2MessageFrame_IsAPostWithSeqCursorAndFacets()
    {
        const string frame = """
            {"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#commit","seq":12345,
             "did":"did:plc:abc","time":"2026-11-20T10:00:00.123456Z","rev":"r","operation":"create",
             "collection":"app.bsky.feed.post","rkey":"3kxyz","cid":"c",
             "record":{"$type":"app.bsky.feed.post","createdAt":"2026-11-20T09:59:59Z","langs":["de"],"text":"Hochwasser #flut",
               "facets":[{"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"flut"},{"$type":"app.bsky.richtext.facet#link","uri":"https://example.com/a"}]}],
               "embed":{"$type":"app.bsky.embed.record","record":{"uri":"at://did:plc:q/app.bsky.feed.post/3kq","cid":"c"}}}}}
            """;

        var e = Assert.Single(new WireLineParser().Parse(frame.ReplaceLineEndings(" "), Context).Events);

        Assert.Equal("12345", e.Cursor);
        Assert.Equal("bsky:did:plc:abc/3kxyz", e.Post!.Id);
        Assert.Equal("de", e.Post.Lang);
        Assert.Equal(["flut"], e.Post.Entities.Hashtags);
        Assert.Equal(["https://example.com/a"], e.Post.Entities.Urls);
        Assert.Equal("bsky:did:plc:q/3kq", e.Post.Relations.QuoteOf);
    }

    [Fact]
    public void Parse_V1FrameWithCursorField_UsesTimeUsAndLearnsHandlesFromIdentity()
    {
        var parser = new WireLineParser();
        parser.Parse("""{"did":"did:plc:h","time_us":1725911162329308,"kind":"identity","identity":{"did":"did:plc:h","handle":"alice.bsky.social","seq":1}}""", Context);

        var e = Assert.Single(parser.Parse(
            """{"did":"did:plc:h","time_us":1725911162329309,"cursor":12,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k1","record":{"text":"hi","createdAt":"2024-09-09T19:46:02Z"}}}""",
            Context).Events);

        Assert.Equal("1725911162329309", e.Cursor);
        Assert.Equal("alice.bsky.social", e.Post!.Author.Handle);
    }

    [Fact]
    public void Parse_ErrorFrameAndLikes_AreNoticeAndNothing()
    {
        var parser = new WireLineParser();

        Assert.StartsWith("Jetstream error: ConsumerTooSlow", parser.Parse("""{"$type":"error","error":"ConsumerTooSlow","message":"slow"}""", Context).Notice, StringComparison.Ordinal);
        Assert.Empty(parser.Parse("""{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"a","record":{}}}""", Context).Events);
    }

    [Fact]
    public void Parse_LikesAndReposts_BecomeEngagementOnlyWhenAskedFor()
    {
        const string like = """{"did":"did:plc:a","time_us":1725911162329308,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"l1","record":{"$type":"app.bsky.feed.like","subject":{"cid":"c","uri":"at://did:plc:wa7b35aakoll7hugkrjtf3xf/app.bsky.feed.post/3l3pte3p2e325"}}}}""";
        const string repost = """{"did":"did:plc:a","time_us":1725911162329309,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.repost","rkey":"r1","record":{"$type":"app.bsky.feed.repost","subject":{"cid":"c","uri":"at://did:plc:wa7b35aakoll7hugkrjtf3xf/app.bsky.feed.post/3l3pte3p2e325"}}}}""";

        var withEngagement = new WireLineParser(WireFormat.Jetstream, includeEngagement: true);
        var e1 = Assert.Single(withEngagement.Parse(like, Context).Events);
        var e2 = Assert.Single(withEngagement.Parse(repost, Context).Events);

        Assert.Equal((FeedEventKind.Engage, "bsky:did:plc:wa7b35aakoll7hugkrjtf3xf/3l3pte3p2e325"), (e1.Kind, e1.PostId));
        Assert.Equal(new Engagement(Likes: 1), e1.Engagement);
        Assert.Equal(new Engagement(Reposts: 1), e2.Engagement);
        Assert.Empty(new WireLineParser(WireFormat.Jetstream).Parse(like, Context).Events);
    }

    [Fact]
    public void Parse_ClientCreatedAtFarInTheFuture_IsBoundedByRelayTime()
    {
        var e = Assert.Single(new WireLineParser().Parse(
            """{"did":"did:plc:x","time_us":1725911162000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"a","record":{"text":"time traveller","createdAt":"2099-01-01T00:00:00Z"}}}""",
            Context).Events);

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1725911162000), e.Post!.CreatedAt);
    }
}
