using System.Text;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Mastodon;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.Mastodon;

/// <summary>A local server plays a Mastodon instance: SSE streaming with heartbeats, REST timelines and trends.</summary>
public class MastodonFeedSourceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Status(string id, string html, string acct = "reporter@riverton.example") => JsonSerializer.Serialize(new
    {
        id,
        created_at = "2026-11-20T10:00:00.000Z",
        content = html,
        url = $"https://social.example/@reporter/{id}",
        language = "en",
        favourites_count = 3,
        reblogs_count = 1,
        replies_count = 0,
        account = new { id = "9", acct, display_name = "Reporter", followers_count = 120 },
        tags = new[] { new { name = "rivertonflood" } },
        mentions = Array.Empty<object>(),
    });

    private static async Task SendAsync(HttpContext ctx, string sse)
    {
        await ctx.Response.WriteAsync(sse, ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private static async Task HoldWithHeartbeatsAsync(HttpContext ctx)
    {
        while (!ctx.RequestAborted.IsCancellationRequested)
        {
            try
            {
                await SendAsync(ctx, ":thump\n");
                await Task.Delay(100, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static (MastodonFeedSource Source, FeedHealthRegistry Health, ListDeadLetters Dead, TrendRegistry Trends, AdvancingTimeProvider Time) NewSource(string url, int heartbeatSeconds = 30, int trendsSeconds = 0)
    {
        var time = new AdvancingTimeProvider();
        var health = new FeedHealthRegistry(time);
        var dead = new ListDeadLetters();
        var trends = new TrendRegistry();
        var options = new MastodonOptions
        {
            Instances = [new MastodonInstanceOptions { BaseUrl = url, AccessToken = "secret-token", Streams = ["public"], HeartbeatTimeoutSeconds = heartbeatSeconds, TrendsIntervalSeconds = trendsSeconds }],
        };
        return (new MastodonFeedSource(options, new HttpClient(), dead, health, trends, time, NullLogger<MastodonFeedSource>.Instance), health, dead, trends, time);
    }

    [Fact]
    public async Task ReadAsync_DisconnectThenReconnect_BackfillsTheGapFromTheRestTimeline()
    {
        var requests = new ConcurrentQueue<string>();
        var connections = 0;
        FeedHealthRegistry? clientHealth = null;
        await using var server = await LocalServer.StartAsync(app =>
        {
            app.MapGet("/api/v1/streaming/public", async (HttpContext ctx) =>
            {
                requests.Enqueue($"stream {ctx.Request.Headers.Authorization}");
                ctx.Response.ContentType = "text/event-stream";
                if (Interlocked.Increment(ref connections) == 1)
                {
                    await SendAsync(ctx, $":thump\nevent: update\ndata: {Status("100", "<p>River rising</p>")}\n\nevent: update\ndata: {Status("101", "<p>Bridge closed</p>")}\n\n");
                    // An abort discards what the client has not read: wait for its signal that it counted both updates.
                    await Eventually.UntilAsync(
                        () => clientHealth?.For($"mastodon:{ctx.Request.Host.Host}:public").Snapshot().Events >= 2, TimeSpan.FromSeconds(10), "the client to read both updates");
                    ctx.Abort();
                    return;
                }

                await SendAsync(ctx, $"event: update\ndata: {Status("104", "<p>Shelter open</p>")}\n\nevent: delete\ndata: 100\n\n");
                await HoldWithHeartbeatsAsync(ctx);
            });
            app.MapGet("/api/v1/timelines/public", (HttpContext ctx) =>
            {
                requests.Enqueue($"timeline {ctx.Request.QueryString}");
                return Results.Text(ctx.Request.Query["min_id"] == "101" ? $"[{Status("103", "<p>missed 2</p>")},{Status("102", "<p>missed 1</p>")}]" : "[]", "application/json");
            });
        });
        var (source, health, _, _, _) = NewSource(server.Url);
        clientHealth = health;

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 6);

        var host = new Uri(server.Url).Host;
        Assert.Equal(
            [$"mastodon:{host}/100", $"mastodon:{host}/101", $"mastodon:{host}/102", $"mastodon:{host}/103", $"mastodon:{host}/104", $"mastodon:{host}/100"],
            events.Select(e => e.PostId));
        Assert.Equal(FeedEventKind.Delete, events[^1].Kind);
        Assert.Contains("timeline ?min_id=101&limit=40", requests);
        Assert.Contains("stream Bearer secret-token", requests);
        var gap = Assert.Single(health.For($"mastodon:{host}:public").Gaps);
        Assert.True(gap.Recovered);
        var post = events[0].Post!;
        Assert.Equal("<p>River rising</p>", post.Text); // HTML is turned into text by the enricher
        Assert.Equal(new Author("reporter@riverton.example", "Reporter", 120, "9"), post.Author);
        Assert.Equal(new Engagement(3, 1, 0), post.Metrics);
        Assert.Equal(["rivertonflood"], post.Entities.Hashtags);
    }

    /// <summary>
    /// A flapping instance: 300 statuses are posted over the test; every connection streams 12 of them and a delete,
    /// then drops, and 8 more are posted while the client is away (so they exist only on the REST timeline). Mastodon
    /// has no resume cursor: every gap must close from the timeline. Every status must arrive, every delete too.
    /// </summary>
    [Fact]
    public async Task ReadAsync_InstanceDropsEveryFewEvents_EveryStatusArrivesAndEveryDeleteIsApplied()
    {
        const int total = 300;
        var posted = 0;   // statuses 1..posted exist on the instance
        var connections = 0;
        var sent = 0;
        var deletes = new ConcurrentQueue<int>();
        FeedHealthRegistry? clientHealth = null;
        string StatusId(int i) => (1_000_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var server = await LocalServer.StartAsync(app =>
        {
            app.MapGet("/api/v1/streaming/public", async (HttpContext ctx) =>
            {
                ctx.Response.ContentType = "text/event-stream";
                var n = Interlocked.Increment(ref connections);
                if (n > 1)
                {
                    Interlocked.Add(ref posted, Math.Min(8, total - Volatile.Read(ref posted))); // posted while the client was away
                }

                var frames = 0;
                while (frames < 12 && Volatile.Read(ref posted) < total)
                {
                    var i = Interlocked.Increment(ref posted);
                    await SendAsync(ctx, $"event: update\ndata: {Status(StatusId(i), $"<p>status {i}</p>")}\n\n");
                    frames++;
                }

                if (Volatile.Read(ref posted) >= total)
                {
                    await HoldWithHeartbeatsAsync(ctx);
                    return;
                }

                var deleted = Math.Max(1, Volatile.Read(ref posted) - 20);
                deletes.Enqueue(deleted);
                await SendAsync(ctx, $"event: delete\ndata: {StatusId(deleted)}\n\n");
                Interlocked.Add(ref sent, frames + 1);
                await Eventually.UntilAsync(
                    () => clientHealth?.For($"mastodon:{ctx.Request.Host.Host}:public").Snapshot().Events >= Volatile.Read(ref sent), TimeSpan.FromSeconds(10), "the client to read what was sent");
                ctx.Abort();
            });
            app.MapGet("/api/v1/timelines/public", (HttpContext ctx) =>
            {
                // min_id: the 40 statuses right after it, newest first (as Mastodon answers).
                var after = int.Parse(ctx.Request.Query["min_id"]!, System.Globalization.CultureInfo.InvariantCulture) - 1_000_000;
                var page = Enumerable.Range(after + 1, Math.Max(0, Math.Min(40, Volatile.Read(ref posted) - after))).Reverse();
                return Results.Text("[" + string.Join(',', page.Select(i => Status(StatusId(i), $"<p>status {i}</p>"))) + "]", "application/json");
            });
        });
        var (source, health, _, _, _) = NewSource(server.Url);
        clientHealth = health;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var events = await FeedEvents.CollectAsync(source, es => es.Where(e => e.Kind == FeedEventKind.Upsert).Select(e => e.PostId).Distinct().Count() == total);

        var elapsed = started.Elapsed;
        var host = new Uri(server.Url).Host;
        var upserts = events.Where(e => e.Kind == FeedEventKind.Upsert).ToList();
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"mastodon:{host}/{StatusId(i)}").Order(), upserts.Select(e => e.PostId).Distinct().Order());
        Assert.Equal(deletes.Select(d => $"mastodon:{host}/{StatusId(d)}").Order(), events.Where(e => e.Kind == FeedEventKind.Delete).Select(e => e.PostId).Order());
        var gaps = health.For($"mastodon:{host}:public").Gaps;
        Assert.All(gaps, g => Assert.True(g.Recovered, g.Reason));
        Assert.True(connections >= 15, $"{connections} connections"); // 300 statuses, 20 per connection (12 streamed, 8 while away)
        output.WriteLine($"mastodon flapping: {total} statuses over {connections} connections (each dropped after 12 + a delete, 8 posted while away), " +
            $"{upserts.Count} upserts delivered ({upserts.Count - total} again), {deletes.Count} deletes, {elapsed.TotalSeconds:F1} s: {total / elapsed.TotalSeconds:F0} statuses/s through");
    }

    [Fact]
    public async Task ReadAsync_NoHeartbeat_ReconnectsAfterTheTimeout()
    {
        var connections = 0;
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/api/v1/streaming/public", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            if (Interlocked.Increment(ref connections) == 1)
            {
                await SendAsync(ctx, ":)\n");
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            await SendAsync(ctx, $"event: update\ndata: {Status("200", "after the silence")}\n\n");
            await HoldWithHeartbeatsAsync(ctx);
        }));
        var (source, health, _, _, time) = NewSource(server.Url, heartbeatSeconds: 5);

        // Fake time passes while the first connection is silent; no real second is waited.
        var collect = FeedEvents.CollectAsync(source, es => es.Count == 1);
        await time.AdvanceWhileAsync(() => Volatile.Read(ref connections) < 2, TimeSpan.FromSeconds(1));
        var events = await collect;

        Assert.Single(events);
        Assert.Equal(2, connections);
        Assert.Contains("no heartbeat for 5 s", health.Snapshot().Single().LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_MalformedOrNotUtf8Update_IsDeadLetteredWithItsEventAndTheStreamGoesOn()
    {
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/api/v1/streaming/public", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await SendAsync(ctx, $"event: update\ndata: {{\"id\":\"1\",\n\n");
            // A status whose text holds a byte that is not UTF-8: read as text it became U+FFFD and was stored.
            var bad = Encoding.UTF8.GetBytes($"event: update\ndata: {Status("299", "broken")}\n\n").ToList();
            bad.InsertRange(bad.IndexOf((byte)'b'), new byte[] { 0xFF });
            await ctx.Response.Body.WriteAsync(bad.ToArray(), ctx.RequestAborted);
            await SendAsync(ctx, $"event: update\ndata: {Status("300", "fine")}\n\n");
            await HoldWithHeartbeatsAsync(ctx);
        }));
        var (source, _, dead, _, _) = NewSource(server.Url);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 1);

        Assert.EndsWith("/300", Assert.Single(events).PostId, StringComparison.Ordinal);
        Assert.Equal(2, dead.Items.Count);
        Assert.StartsWith("malformed JSON", dead.Items.First().Reason, StringComparison.Ordinal);
        Assert.StartsWith("invalid UTF-8 at byte", dead.Items.Last().Reason, StringComparison.Ordinal);
        Assert.All(dead.Items, d => Assert.EndsWith("/api/v1/streaming/public event update", d.Location, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task ReadAsync_RecordedStreamWithHeartbeats_YieldsUpdatesEditsAndDeletes()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var recorded = await File.ReadAllTextAsync(TestPaths.Fixture("mastodon", "mastodon_streaming_replay_from_docs.sse"));
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/api/v1/streaming/public", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await SendAsync(ctx, recorded.ReplaceLineEndings("\n") + "\n\n");
            await HoldWithHeartbeatsAsync(ctx);
        }));
        var (source, _, dead, _, _) = NewSource(server.Url);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 11);

        Assert.Equal(8, events.Count(e => e.Kind == FeedEventKind.Upsert)); // 4 update + 4 status.update
        Assert.Equal(3, events.Count(e => e.Kind == FeedEventKind.Delete));
        Assert.Empty(dead.Items);
    }

    [Fact]
    public async Task PollTrendsAsync_RecordsTagsAndLinksAndPublishesTrendingStatuses()
    {
        await using var server = await LocalServer.StartAsync(app =>
        {
            app.MapGet("/api/v1/trends/tags", () => Results.Text("""[{"name":"rivertonflood","url":"https://social.example/tags/rivertonflood","history":[{"day":"1","uses":"412","accounts":"300"}]}]""", "application/json"));
            app.MapGet("/api/v1/trends/links", () => Results.Text("""[{"url":"https://news.example/flood","title":"Flood crest tonight","history":[{"day":"1","uses":"88","accounts":"70"}]}]""", "application/json"));
            app.MapGet("/api/v1/trends/statuses", () => Results.Text($"[{Status("900", "trending")}]", "application/json"));
        });
        var (source, _, _, trends, _) = NewSource(server.Url);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<FeedEvent>();

        await source.PollTrendsAsync(new MastodonInstanceOptions { BaseUrl = server.Url }, channel.Writer, CancellationToken.None);

        var snapshot = Assert.Single(trends.Latest());
        Assert.Equal([("rivertonflood", "tag", (long?)412), ("Flood crest tonight", "link", 88), ("mastodon:127.0.0.1/900", "status", 4)],
            snapshot.Trends.Select(t => (t.Name, t.Kind, t.Volume)));
        Assert.True(channel.Reader.TryRead(out var e));
        Assert.Equal("mastodon:127.0.0.1/900", e.PostId);
    }
}
