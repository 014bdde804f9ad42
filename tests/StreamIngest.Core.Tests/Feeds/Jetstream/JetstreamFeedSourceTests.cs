using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Jetstream;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Jetstream;

/// <summary>A local WebSocket server plays Jetstream: it honours ?cursor=, drops and stalls connections on cue.</summary>
public class JetstreamFeedSourceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long T0 = 1_732_206_349_000_000;

    private static string Create(int i) =>
        $$$"""{"did":"did:plc:test","time_us":{{{T0 + i * 1_000_000L}}},"kind":"commit","commit":{"rev":"r{{{i}}}","operation":"create","collection":"app.bsky.feed.post","rkey":"k{{{i}}}","record":{"$type":"app.bsky.feed.post","createdAt":"2024-11-21T16:25:49Z","text":"post {{{i}}}","langs":["en"]},"cid":"c{{{i}}}"}}""";

    private static long TimeUs(string frame) =>
        long.Parse(frame.Split("\"time_us\":")[1].Split(',')[0], CultureInfo.InvariantCulture);

    /// <summary>Script for each connection: which frames to send (from the cursor on), then drop, stall or hold.</summary>
    private sealed class Script(IReadOnlyList<string> frames)
    {
        public ConcurrentQueue<string> Queries { get; } = new();

        public int Connections;

        public Func<int, HttpContext, Task<bool>> BeforeAccept { get; init; } = (_, _) => Task.FromResult(true);

        /// <summary>Frames sent on connection n (1-based) before it drops; int.MaxValue = send all, then hold.</summary>
        public Func<int, int> DropAfter { get; init; } = _ => int.MaxValue;

        /// <summary>
        /// Awaited before an abrupt drop with the frames sent so far on every connection: an abort discards what the
        /// client has not read yet, so a test waits here for the client's signal that it read them.
        /// </summary>
        public Func<long, Task>? BeforeDrop { get; set; }

        private long _sent;

        public async Task HandleAsync(HttpContext ctx)
        {
            var n = Interlocked.Increment(ref Connections);
            Queries.Enqueue(ctx.Request.QueryString.Value ?? string.Empty);
            if (!await BeforeAccept(n, ctx))
            {
                return;
            }

            using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
            var cursor = long.TryParse(ctx.Request.Query["cursor"], CultureInfo.InvariantCulture, out var c) ? c : long.MinValue;
            var sent = 0;
            foreach (var frame in frames.Where(f => !f.Contains("time_us", StringComparison.Ordinal) || TimeUs(f) >= cursor))
            {
                if (sent++ == DropAfter(n))
                {
                    if (BeforeDrop is { } wait)
                    {
                        await wait(Interlocked.Read(ref _sent));
                    }

                    ctx.Abort(); // abrupt: no close handshake
                    return;
                }

                await ws.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, ctx.RequestAborted);
                Interlocked.Increment(ref _sent);
            }

            await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>The client's signal that it read every frame sent: its health has counted them.</summary>
    private static Task ClientReadAsync(FeedHealth health, long sent) =>
        Eventually.UntilAsync(() => health.Snapshot().Events >= sent, TimeSpan.FromSeconds(10), $"the client to read the {sent} frames sent");

    private static (JetstreamFeedSource Source, FeedHealth Health, ListDeadLetters Dead, AdvancingTimeProvider Time) NewSource(
        IEnumerable<string> endpoints, DictionaryStore cursors, int idleSeconds = 30)
    {
        var time = new AdvancingTimeProvider();
        var health = new FeedHealth("jetstream", time);
        var dead = new ListDeadLetters();
        var options = new JetstreamOptions { Endpoints = [.. endpoints], IdleTimeoutSeconds = idleSeconds, ConnectTimeoutSeconds = 5 };
        return (new JetstreamFeedSource(options, cursors, dead, health, time, NullLogger<JetstreamFeedSource>.Instance), health, dead, time);
    }

    [Fact]
    public async Task ReadAsync_ConnectionDroppedMidStream_ResumesFromLastCursorRewoundAndLosesNothing()
    {
        var frames = Enumerable.Range(0, 20).Select(Create).ToList();
        var script = new Script(frames) { DropAfter = n => n == 1 ? 12 : int.MaxValue };
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var (source, health, _, _) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], new DictionaryStore());
        script.BeforeDrop = sent => ClientReadAsync(health, sent);

        var events = await FeedEvents.CollectAsync(source, es => es.Select(e => e.PostId).Distinct().Count() == 20);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"bsky:did:plc:test/k{i}").Order(), events.Select(e => e.PostId).Distinct().Order());
        var queries = script.Queries.ToArray();
        Assert.DoesNotContain("cursor=", queries[0], StringComparison.Ordinal);
        // Resumed from the last event read before the drop (an abrupt reset may lose what was still in flight), rewound 5 s.
        var cursor = long.Parse(queries[1].Split("cursor=")[1].Split('&')[0], CultureInfo.InvariantCulture);
        var lastSeen = (cursor + 5_000_000 - T0) / 1_000_000;
        Assert.Equal(0, (cursor + 5_000_000 - T0) % 1_000_000);
        Assert.InRange(lastSeen, 0, 11);
        Assert.Contains(events.Take(12), e => e.PostId == $"bsky:did:plc:test/k{lastSeen}");
        Assert.Contains("wantedCollections=app.bsky.feed.post", queries[0], StringComparison.Ordinal);
        Assert.Equal(1, health.Reconnects);
        Assert.Empty(health.Gaps); // it had a cursor: nothing was missed
        Assert.True(events.Count > 20, "the rewind redelivers a few events; the store collapses them by id");
    }

    /// <summary>
    /// A relay that drops the connection every 4 events while the rewind is 5 s (5 events): before, every
    /// reconnect asked for the same 5 s again and got the same 4 events (a livelock); now each reconnect starts
    /// later than the one before and the whole stream gets through, with the backoff back at its first step
    /// after every connection that delivered.
    /// </summary>
    [Fact]
    public async Task ReadAsync_RelayDropsMoreOftenThanTheRewindIsLong_TheWholeStreamStillGetsThrough()
    {
        const int total = 200;
        var frames = Enumerable.Range(0, total).Select(Create).ToList();
        var script = new Script(frames) { DropAfter = _ => 4 };
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var time = new AdvancingTimeProvider();
        var health = new FeedHealth("jetstream", time);
        var source = new JetstreamFeedSource(
            new JetstreamOptions { Endpoints = [server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], RewindSeconds = 5 },
            new DictionaryStore(), new ListDeadLetters(), health, time, NullLogger<JetstreamFeedSource>.Instance);
        script.BeforeDrop = sent => ClientReadAsync(health, sent);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var events = await FeedEvents.CollectAsync(source, es => es.Select(e => e.PostId).Distinct().Count() == total);
        output.WriteLine($"jetstream flapping: {total} posts over {script.Connections} connections (each dropped after 4 frames, rewind 5 s = 5 frames), " +
            $"{events.Count} delivered ({events.Count - total} re-received), {started.Elapsed.TotalSeconds:F1} s: {total / started.Elapsed.TotalSeconds:F0} posts/s through");

        var cursors = script.Queries.Select(q => q.Contains("cursor=", StringComparison.Ordinal) ? long.Parse(q.Split("cursor=")[1].Split('&')[0], CultureInfo.InvariantCulture) : 0).Skip(1).ToList();
        var status = health.Snapshot();
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"bsky:did:plc:test/k{i}").Order(), events.Select(e => e.PostId).Distinct().Order());
        Assert.Equal(cursors.Order(), cursors);                   // every reconnect resumes later than the one before…
        Assert.Equal(cursors.Count, cursors.Distinct().Count());  // …never twice from the same point
        Assert.True(status.ReReceived > 0, "the rewind re-read some events");
        Assert.Equal(status.ReReceived, events.Count - total);    // and every extra event is counted as re-received
        Assert.Equal(cursors[^1].ToString(CultureInfo.InvariantCulture), status.ResumeCursor);
        var reconnectWaits = time.Waits.Where(w => w <= TimeSpan.FromSeconds(60) && w != TimeSpan.FromSeconds(30)).ToList(); // not the 30 s idle timer
        Assert.All(reconnectWaits, w => Assert.True(w <= TimeSpan.FromSeconds(1), $"waited {w}: the backoff should be back at its first step after a connection that delivered"));
        Assert.True(status.WaitedSeconds > 0);
    }

    [Theory]
    [InlineData(100L, -1L, 5L, 95L)]      // first reconnect (no previous resume): the full rewind
    [InlineData(100L, 90L, 5L, 95L)]      // the previous connection covered 10: rewind 5 is within half of it
    [InlineData(100L, 96L, 5L, 98L)]      // covered 4: rewind at most 2
    [InlineData(97L, 96L, 5L, 97L)]       // covered 1: rewind 0, and still later than 96
    [InlineData(96L, 96L, 5L, 96L)]       // delivered nothing new: ask for the same point (nothing to skip)
    public void ResumeCursor_RewindsButAlwaysMovesOn(long last, long previous, long rewind, long expected)
    {
        Assert.Equal(expected, JetstreamCursor.ResumeCursor(last, previous < 0 ? null : previous, rewind));
    }

    [Fact]
    public async Task ReadAsync_StoredCursor_IsUsedOnTheFirstConnection()
    {
        var script = new Script([Create(20), Create(40)]);
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var cursors = new DictionaryStore();
        cursors.Cursors["bsky"] = (T0 + 30_000_000).ToString(CultureInfo.InvariantCulture);
        var (source, _, _, _) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], cursors);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 1);

        Assert.Equal("bsky:did:plc:test/k40", events[0].PostId); // the server honoured the cursor
        Assert.Contains($"cursor={T0 + 25_000_000}", script.Queries.First(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CursorTooOld_ResumesLiveAndRecordsTheGap()
    {
        var script = new Script([Create(50)])
        {
            BeforeAccept = async (n, ctx) =>
            {
                if (!ctx.Request.Query.ContainsKey("cursor"))
                {
                    return true;
                }

                ctx.Response.StatusCode = 400;
                await ctx.Response.WriteAsJsonAsync(new { error = "CursorTooOld", message = "cursor is before the 36h lookback" });
                return false;
            },
        };
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var cursors = new DictionaryStore();
        cursors.Cursors["bsky"] = T0.ToString(CultureInfo.InvariantCulture);
        var (source, health, _, _) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], cursors);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 1);

        Assert.Equal("bsky:did:plc:test/k50", events[0].PostId);
        var gap = Assert.Single(health.Gaps);
        Assert.False(gap.Recovered);
        Assert.Equal("cursor too old; resumed live", gap.Reason);
        Assert.DoesNotContain("cursor=", script.Queries.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_FirstEndpointDown_FailsOverToTheNext()
    {
        var script = new Script([Create(1)]);
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var (source, health, _, _) = NewSource(["ws://127.0.0.1:1/subscribe", server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], new DictionaryStore());

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 1);

        Assert.Single(events);
        Assert.EndsWith("/subscribe", health.Endpoint, StringComparison.Ordinal);
        Assert.DoesNotContain(":1/", health.Endpoint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_StalledConnection_IsDetectedAndReconnected()
    {
        // The first connection accepts and then sends nothing (a stalled relay); the second streams and holds.
        var script = new Script([Create(1), Create(2)]);
        var stallFirst = new Script([]);
        var calls = 0;
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", ctx =>
            Interlocked.Increment(ref calls) == 1 ? stallFirst.HandleAsync(ctx) : script.HandleAsync(ctx)));
        var (source, health, _, time) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], new DictionaryStore(), idleSeconds: 5);

        // Fake time passes while the first connection is silent; no real second is waited.
        var collect = FeedEvents.CollectAsync(source, es => es.Count == 2);
        await time.AdvanceWhileAsync(() => Volatile.Read(ref calls) < 2, TimeSpan.FromSeconds(1));
        var events = await collect;

        Assert.Equal(2, events.Count);
        Assert.Equal(2, Volatile.Read(ref calls));              // one stalled connection, one reconnect
        Assert.Contains("no frame for 5 s", health.LastError, StringComparison.Ordinal);
        Assert.True(health.Connected);
    }

    [Fact]
    public async Task ReadAsync_MalformedFrame_IsDeadLetteredAndTheStreamGoesOn()
    {
        var script = new Script([Create(1), "{\"did\":\"did:plc:x\",\"kind\":", Create(2)]);
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var (source, health, dead, _) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], new DictionaryStore());

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 2);

        Assert.Equal(["bsky:did:plc:test/k1", "bsky:did:plc:test/k2"], events.Select(e => e.PostId));
        Assert.StartsWith("malformed JSON", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
        Assert.Equal(1, health.Snapshot().DeadLettered);
    }

    [SkippableFact]
    public async Task ReadAsync_RecordedJetstreamEvents_PostsAndDeletesComeThrough()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var frames = File.ReadAllLines(TestPaths.Fixture("bluesky-jetstream", "events_v1_real_fixtures.jsonl")).Where(l => l.Length > 0).ToList();
        var expected = frames.Count(f => f.Contains("\"collection\":\"app.bsky.feed.post\"", StringComparison.Ordinal));
        var script = new Script(frames);
        await using var server = await LocalServer.StartAsync(app => app.Map("/subscribe", script.HandleAsync));
        var (source, _, dead, _) = NewSource([server.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe"], new DictionaryStore());

        var events = await FeedEvents.CollectAsync(source, es => es.Count == expected);

        Assert.Equal(expected, events.Count);
        Assert.Contains(events, e => e.Kind == FeedEventKind.Delete);
        Assert.Empty(dead.Items);
    }
}
