using System.Text;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Feeds.Replay;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Replay;

public class ReplayFeedSourceTests
{
    private static string Line(string id, string createdAt, string text = "hello") =>
        $$$"""{"source":"demo","id":"{{{id}}}","text":"{{{text}}}","created_at":"{{{createdAt}}}","author":{"handle":"a","followers":3}}""";

    private static string WriteFile(params byte[][] lines)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "replay.jsonl");
        using var f = File.Create(path);
        foreach (var l in lines)
        {
            f.Write(l);
            f.WriteByte((byte)'\n');
        }

        return path;
    }

    private static async Task<List<FeedEvent>> ReadAllAsync(ReplayFeedSource source)
    {
        var list = new List<FeedEvent>();
        await foreach (var e in source.ReadAsync(CancellationToken.None))
        {
            list.Add(e);
        }

        return list;
    }

    [Fact]
    public async Task ReadAsync_BadLines_AreDeadLetteredWithLineNumberAndReasonAndReplayGoesOn()
    {
        var path = WriteFile(
            Encoding.UTF8.GetBytes(Line("1", "2026-11-20T10:00:00Z")),
            "{not json"u8.ToArray(),
            [.. "{\"source\":\"demo\",\"id\":\"2\",\"text\":\"bad "u8, 0xFF, .. "\",\"created_at\":\"2026-11-20T10:00:00Z\"}"u8],
            Encoding.UTF8.GetBytes(Line("3", "2026-11-20T10:00:01Z", new string('x', 3000))),
            Encoding.UTF8.GetBytes(Line("4", "2026-11-20T10:00:02Z")),
            Encoding.UTF8.GetBytes(Line("5", "2026-11-20T10:00:03Z"))[..40]);
        var dead = new ListDeadLetters();
        var source = new ReplayFeedSource(new ReplayOptions { Path = path, Timestamps = ReplayTimestamps.Original, MaxLineBytes = 2048 }, dead, TimeProvider.System);

        var events = await ReadAllAsync(source);

        Assert.Equal(["demo:1", "demo:4"], events.Select(e => e.PostId));
        var reasons = dead.Items.Select(d => (d.Location, d.Reason.Split(':')[0])).ToList();
        Assert.Equal(
            [("replay.jsonl:2", "malformed JSON"), ("replay.jsonl:3", "invalid UTF-8 at byte 38"), ("replay.jsonl:4", "line exceeds 2048 bytes"), ("replay.jsonl:6", "malformed JSON")],
            reasons);
        Assert.All(dead.Items, d => Assert.Equal("replay", d.Source));
        Assert.Equal(6, source.LinesRead);
    }

    [Fact]
    public async Task ReadAsync_ShiftToNow_MovesNewestPostToNowKeepingGaps()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var path = WriteFile(
            Encoding.UTF8.GetBytes(Line("1", "2020-01-01T10:00:00Z")),
            Encoding.UTF8.GetBytes(Line("2", "2020-01-01T11:30:00Z")),
            Encoding.UTF8.GetBytes(Line("3", "2020-01-01T11:00:00Z")));
        var source = new ReplayFeedSource(new ReplayOptions { Path = path, Timestamps = ReplayTimestamps.ShiftToNow }, new ListDeadLetters(), time);

        var posts = (await ReadAllAsync(source)).Select(e => e.Post!).ToList();

        Assert.Equal(time.GetUtcNow(), posts[1].CreatedAt);
        Assert.Equal(time.GetUtcNow().AddMinutes(-90), posts[0].CreatedAt);
        Assert.Equal(time.GetUtcNow().AddMinutes(-30), posts[2].CreatedAt);
        Assert.All(posts, p => Assert.Equal(time.GetUtcNow(), p.ReceivedAt));
        Assert.All(posts, p => Assert.StartsWith("file://", p.Provenance.Endpoint, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_Speed10_WaitsTheGapDividedByTenBeforeEachPost()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var path = WriteFile(
            Encoding.UTF8.GetBytes(Line("1", "2026-11-20T10:00:00Z")),
            Encoding.UTF8.GetBytes(Line("2", "2026-11-20T10:01:40Z")));
        var source = new ReplayFeedSource(new ReplayOptions { Path = path, Timestamps = ReplayTimestamps.ShiftToNow, Speed = 10 }, new ListDeadLetters(), time);
        await using var e = source.ReadAsync(CancellationToken.None).GetAsyncEnumerator();

        Assert.True(await e.MoveNextAsync());
        Assert.Equal(time.GetUtcNow(), e.Current.Post!.CreatedAt);
        var second = e.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromSeconds(9.9));
        await Task.Yield();
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(await second);
        Assert.Equal(time.GetUtcNow(), e.Current.Post!.CreatedAt);
    }

    [Fact]
    public async Task ReadAsync_JetstreamCursors_AreNeverPassedOnFromAReplay()
    {
        var path = WriteFile("""{"did":"did:plc:x","time_us":1725911162000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"a","record":{"text":"t","createdAt":"2024-09-09T19:46:02Z"}}}"""u8.ToArray());

        var events = await ReadAllAsync(new ReplayFeedSource(new ReplayOptions { Path = path, Timestamps = ReplayTimestamps.Original }, new ListDeadLetters(), TimeProvider.System));

        Assert.Null(Assert.Single(events).Cursor);
    }
}
