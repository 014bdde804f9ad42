using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.X;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.X;

/// <summary>
/// A local server plays the X API: rules endpoints, a filtered stream that drops, rate-limits, fails and
/// sends the recorded operational-disconnect, duplicate and truncated lines, and recent search for gaps.
/// </summary>
public class XFeedSourceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Tweet(string id, string text) =>
        JsonSerializer.Serialize(new
        {
            data = new { id, text, created_at = "2026-11-20T10:00:00.000Z", author_id = "7", lang = "en" },
            includes = new { users = new[] { new { id = "7", username = "reporter", name = "Reporter" } } },
            matching_rules = new[] { new { id = "1", tag = "flood" } },
        });

    private sealed class FakeX
    {
        public ConcurrentQueue<string> Requests { get; } = new();

        public ConcurrentQueue<string> RuleBodies { get; } = new();

        public int StreamConnections;

        public required Func<int, HttpContext, Task> Stream { get; init; }

        public Func<string, string> Search { get; init; } = _ => """{"meta":{"result_count":0}}""";

        /// <summary>Recent search with paging: gets the whole query string (since_id, until_id, next_token).</summary>
        public Func<IQueryCollection, string>? SearchPage { get; init; }

        public void Map(WebApplication app)
        {
            app.MapGet("/2/tweets/search/stream/rules", (HttpContext ctx) =>
            {
                Requests.Enqueue("GET rules " + ctx.Request.Headers.Authorization);
                return Results.Text("""{"data":[{"id":"111","value":"old rule"},{"id":"222","value":"flood OR flooding"}],"meta":{"result_count":2}}""", "application/json");
            });
            app.MapPost("/2/tweets/search/stream/rules", async (HttpContext ctx) =>
            {
                using var reader = new StreamReader(ctx.Request.Body);
                RuleBodies.Enqueue(await reader.ReadToEndAsync());
                return Results.Text("""{"meta":{"summary":{}}}""", "application/json");
            });
            app.MapGet("/2/tweets/search/stream", (HttpContext ctx) =>
            {
                Requests.Enqueue("GET stream " + ctx.Request.QueryString);
                return Stream(Interlocked.Increment(ref StreamConnections), ctx);
            });
            app.MapGet("/2/tweets/search/recent", (HttpContext ctx) =>
            {
                Requests.Enqueue("GET recent " + ctx.Request.QueryString);
                return Results.Text(SearchPage?.Invoke(ctx.Request.Query) ?? Search(ctx.Request.Query["since_id"].ToString()), "application/json");
            });
            app.MapGet("/2/trends/by/woeid/{woeid}", (string woeid) =>
                Results.Text("""{"data":[{"trend_name":"#RivertonFlood","tweet_count":12000},{"trend_name":"Cup Final"}]}""", "application/json"));
        }
    }

    private static async Task WriteLinesAsync(HttpContext ctx, IEnumerable<string> lines)
    {
        ctx.Response.ContentType = "application/json";
        foreach (var line in lines)
        {
            await ctx.Response.WriteAsync(line + "\r\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }

    private static async Task HoldAsync(HttpContext ctx)
    {
        // Keep-alives every 100 ms until the client goes away.
        while (!ctx.RequestAborted.IsCancellationRequested)
        {
            try
            {
                await ctx.Response.WriteAsync("\r\n", ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                await Task.Delay(100, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Waits until the feed's health has recorded <paramref name="count"/> gaps (recovery runs in the background).</summary>
    private static async Task<IReadOnlyList<FeedGap>> GapsAsync(FeedHealth health, int count)
    {
        await Eventually.UntilAsync(() => health.Gaps.Count >= count, TimeSpan.FromSeconds(30), $"{count} recorded gap(s)");
        return health.Gaps;
    }

    /// <summary>
    /// A recent-search page as X answers it: the posts of <paramref name="posted"/> after <c>since_id</c> (and before
    /// <c>until_id</c>), newest first, 100 a page, <c>next_token</c> while more remain.
    /// </summary>
    private static string RecentSearchPage(IQueryCollection q, IEnumerable<long> posted, Func<long, string> text)
    {
        var since = long.Parse(q["since_id"].ToString(), CultureInfo.InvariantCulture);
        var until = q.ContainsKey("until_id") ? long.Parse(q["until_id"].ToString(), CultureInfo.InvariantCulture) : long.MaxValue;
        var offset = q.ContainsKey("next_token") ? int.Parse(q["next_token"].ToString(), CultureInfo.InvariantCulture) : 0;
        var matching = posted.Where(id => id > since && id < until).OrderDescending().ToList();
        var page = matching.Skip(offset).Take(100).ToList();
        return JsonSerializer.Serialize(new
        {
            data = page.Select(id => new { id = id.ToString(CultureInfo.InvariantCulture), text = text(id), created_at = "2026-11-20T10:05:00.000Z" }),
            meta = offset + 100 < matching.Count
                ? (object)new { result_count = page.Count, next_token = (offset + 100).ToString(CultureInfo.InvariantCulture) }
                : new { result_count = page.Count },
        });
    }

    private static (XFeedSource Source, FeedHealthRegistry Health, ListDeadLetters Dead, AdvancingTimeProvider Time) NewSource(string url, Action<XOptions>? configure = null)
    {
        var time = new AdvancingTimeProvider();
        var options = new XOptions { BearerToken = "test-token", BaseUrl = url, Rules = [new XRule { Value = "flood OR flooding", Tag = "flood" }, new XRule { Value = "evacuation", Tag = "evac" }], StallTimeoutSeconds = 2 };
        configure?.Invoke(options);
        var health = new FeedHealthRegistry(time);
        var dead = new ListDeadLetters();
        return (new XFeedSource(options, new HttpClient(), dead, health, new TrendRegistry(), time, NullLogger<XFeedSource>.Instance), health, dead, time);
    }

    [Fact]
    public async Task ReadAsync_DropThen429Then503ThenRecovery_FollowsTheDocumentedBackoffAndRecoversTheGap()
    {
        var resetAt = DateTimeOffset.UtcNow.AddSeconds(200).ToUnixTimeSeconds();
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                switch (n)
                {
                    case 1:
                        // The server ends the stream (a drop the client sees as end of stream). Not a reset: a reset
                        // may discard lines the client has not read yet, which made this test depend on timing.
                        await WriteLinesAsync(ctx, [Tweet("1001", "River rising"), "", Tweet("1002", "Bridge closed")]);
                        break;
                    case 2:
                        ctx.Response.StatusCode = 429;
                        ctx.Response.Headers["x-rate-limit-reset"] = resetAt.ToString(CultureInfo.InvariantCulture);
                        break;
                    case 3:
                        ctx.Response.StatusCode = 503;
                        break;
                    default:
                        await WriteLinesAsync(ctx, [Tweet("1005", "Shelter open"), Tweet("1005", "Shelter open")]); // redelivery
                        await HoldAsync(ctx);
                        break;
                }
            },
            // Recent search answers what was posted after since_id: an abrupt reset may discard 1002 before the client read it.
            Search = since => JsonSerializer.Serialize(new
            {
                data = new[] { ("1004", "Missed while down"), ("1003", "Also missed"), ("1002", "Bridge closed") }
                    .Where(t => long.Parse(t.Item1, CultureInfo.InvariantCulture) > long.Parse(since, CultureInfo.InvariantCulture))
                    .Select(t => new { id = t.Item1, text = t.Item2, created_at = "2026-11-20T10:05:00.000Z" }),
                meta = new { result_count = 2 },
            }),
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, _, _) = NewSource(server.Url);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 5);

        // The gap is read back in the background while the stream goes on: order between the two is free.
        Assert.Equal(["x:1001", "x:1002"], events.Take(2).Select(e => e.PostId));
        Assert.Equal(["x:1001", "x:1002", "x:1003", "x:1004", "x:1005"], events.Select(e => e.PostId).Order());
        Assert.Equal(0.25, source.Delays[0].TotalSeconds);             // TCP-level drop: linear from 250 ms
        Assert.InRange(source.Delays[1].TotalSeconds, 190, 201);       // 429: until x-rate-limit-reset (> 1 min)
        Assert.Equal(5, source.Delays[2].TotalSeconds);                // 503: exponential from 5 s
        Assert.Equal(3, source.Delays.Count);
        var gap = Assert.Single(await GapsAsync(health.For("x:stream"), 1));
        Assert.True(gap.Recovered);
        Assert.Contains(fake.Requests, r => r.StartsWith("GET recent", StringComparison.Ordinal) && (r.Contains("since_id=1002", StringComparison.Ordinal) || r.Contains("since_id=1001", StringComparison.Ordinal)));
        Assert.Contains(fake.Requests, r => r.StartsWith("GET stream", StringComparison.Ordinal) && r.Contains("expansions=author_id", StringComparison.Ordinal));
        Assert.Equal("GET rules Bearer test-token", fake.Requests.First());
    }

    /// <summary>
    /// The gap after a 429 holds 1,750 posts (18 pages) and the read budget allows 1,000 posts an hour: recovery
    /// reads 10 pages newest first, records exactly what is still missing (after 1000, before the oldest read),
    /// and reads that remainder (since_id + until_id) when the budget returns. Every post is stored once.
    /// </summary>
    [Fact]
    public async Task ReadAsync_GapLargerThanTheReadBudget_RecordsTheExactRemainderAndReadsItWhenBudgetReturns()
    {
        var missed = Enumerable.Range(2001, 1750).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var resetAt = DateTimeOffset.UtcNow.AddSeconds(90).ToUnixTimeSeconds();
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                if (n == 1)
                {
                    await WriteLinesAsync(ctx, [Tweet("1000", "Before the gap")]);
                    return; // ends: the client reconnects
                }

                if (n == 2)
                {
                    ctx.Response.StatusCode = 429;
                    ctx.Response.Headers["x-rate-limit-reset"] = resetAt.ToString(CultureInfo.InvariantCulture);
                    return;
                }

                await HoldAsync(ctx);
            },
            SearchPage = q => RecentSearchPage(q, missed.Select(id => long.Parse(id, CultureInfo.InvariantCulture)), id => $"Missed {id}"),
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, _, _) = NewSource(server.Url, o => o.GapRecoveryReadBudgetPerHour = 1000);

        var events = await FeedEvents.CollectAsync(source, es => es.Select(e => e.PostId).Distinct().Count() == 1 + missed.Count);

        var gaps = await GapsAsync(health.For("x:stream"), 2);

        Assert.Equal(1 + missed.Count, events.Count);                       // each post once
        var open = gaps[0];
        Assert.False(open.Recovered);
        Assert.Equal("1000", open.MissingAfterId);
        Assert.Equal("2751", open.MissingBeforeId);                            // 10 pages of 100, newest first: 3750 … 2751 read
        Assert.Equal(750, missed.Count(id => long.Parse(id, CultureInfo.InvariantCulture) is > 1000 and < 2751)); // exactly the remainder
        Assert.True(gaps[1].Recovered);
        var recent = fake.Requests.Where(r => r.StartsWith("GET recent", StringComparison.Ordinal)).ToList();
        var recovery = recent.Where(r => r.Contains("since_id=1000", StringComparison.Ordinal)).ToList();
        Assert.Equal(18, recovery.Count);
        Assert.All(recovery.Take(10), r => Assert.DoesNotContain("until_id", r, StringComparison.Ordinal));
        Assert.All(recovery.Skip(10), r => Assert.Contains("until_id=2751", r, StringComparison.Ordinal));
        // The wait for budget is an hour of (fake) silence on the held stream, so it stalls and reconnects; that
        // reconnect looks for a gap from the newest post seen, never again from the first gap.
        Assert.All(recent.Except(recovery), r => Assert.Contains("since_id=3750", r, StringComparison.Ordinal));
    }

    /// <summary>
    /// A flapping filtered stream: 300 matching posts; every connection sends 10 and drops, and 5 more are posted while
    /// the client is away (only recent search has them). X streams have no resume cursor: every gap must be read back
    /// from recent search after the newest post seen. Every post must arrive once to the store's eyes (by id).
    /// </summary>
    [Fact]
    public async Task ReadAsync_StreamDropsEveryFewLines_EveryPostArrivesThroughGapRecovery()
    {
        const int total = 300;
        var posted = 0;
        var sent = 0L;
        FeedHealthRegistry? clientHealth = null;
        static long Id(int i) => 5_000_000 + i;
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                if (n > 1)
                {
                    Interlocked.Add(ref posted, Math.Min(5, total - Volatile.Read(ref posted))); // posted while the client was away
                }

                var lines = new List<string>();
                while (lines.Count < 10 && Volatile.Read(ref posted) < total)
                {
                    var i = Interlocked.Increment(ref posted);
                    lines.Add(Tweet(Id(i).ToString(CultureInfo.InvariantCulture), $"flood update {i}"));
                }

                await WriteLinesAsync(ctx, lines);
                if (Volatile.Read(ref posted) >= total)
                {
                    await HoldAsync(ctx);
                    return;
                }

                var upTo = Interlocked.Add(ref sent, lines.Count);
                await Eventually.UntilAsync(() => clientHealth?.For("x:stream").Snapshot().Events >= upTo, TimeSpan.FromSeconds(10), "the client to read what was sent");
                ctx.Abort();
            },
            SearchPage = q => RecentSearchPage(q, Enumerable.Range(1, Volatile.Read(ref posted)).Select(Id), id => $"flood update {id - 5_000_000}"),
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, _, _) = NewSource(server.Url);
        clientHealth = health;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var events = await FeedEvents.CollectAsync(source, es => es.Select(e => e.PostId).Distinct().Count() == total);

        var elapsed = started.Elapsed;
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"x:{Id(i)}").Order(), events.Select(e => e.PostId).Distinct().Order());
        Assert.Equal(total, events.Count); // the adapter drops what it has seen: each post handed on once
        await Eventually.UntilAsync(() => health.For("x:stream").Gaps.Count >= fake.StreamConnections - 1, TimeSpan.FromSeconds(10), "every gap recorded");
        Assert.All(health.For("x:stream").Gaps, g => Assert.True(g.Recovered, g.Reason));
        output.WriteLine($"x flapping: {total} posts over {fake.StreamConnections} connections (each dropped after 10 lines, 5 posted while away), " +
            $"{events.Count} handed on, {health.For("x:stream").Gaps.Count} gaps all recovered, {elapsed.TotalSeconds:F1} s: {total / elapsed.TotalSeconds:F0} posts/s through");
    }

    /// <summary>The stream keeps failing while recent search keeps working: the stream's backoff still grows (each loop owns its own).</summary>
    [Fact]
    public async Task ReadAsync_StreamFailingWhileSearchSucceeds_StreamBackoffStillGrows()
    {
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                if (n <= 4)
                {
                    ctx.Response.StatusCode = 503;
                    return;
                }

                await WriteLinesAsync(ctx, [Tweet("2001", "Back")]);
                await HoldAsync(ctx);
            },
            Search = _ => """{"data":[{"id":"1500","text":"From search","created_at":"2026-11-20T10:05:00.000Z"}],"meta":{"result_count":1}}""",
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, _, _, _) = NewSource(server.Url, o =>
        {
            o.RecentSearchEnabled = true;
            o.RecentSearchIntervalSeconds = 1;
        });

        var events = await FeedEvents.CollectAsync(source, es => es.Any(e => e.PostId == "x:2001"));

        Assert.Contains(events, e => e.PostId == "x:1500");                  // search worked all along
        Assert.True(fake.Requests.Count(r => r.StartsWith("GET recent", StringComparison.Ordinal)) >= 2, "search polled between the stream's attempts");
        Assert.Equal([5.0, 10, 20, 40], source.Delays.Take(4).Select(d => d.TotalSeconds)); // HTTP errors: 5 s doubling, never reset by search
    }

    [Fact]
    public async Task SyncRulesAsync_AddsMissingAndDeletesExtraRules()
    {
        var fake = new FakeX { Stream = (_, _) => Task.CompletedTask };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, _, _, _) = NewSource(server.Url);

        await source.SyncRulesAsync(CancellationToken.None);

        var bodies = fake.RuleBodies.ToArray();
        Assert.Equal(2, bodies.Length);
        Assert.Equal("""{"add":[{"value":"evacuation","tag":"evac"}]}""", bodies[0]);
        Assert.Equal("""{"delete":{"ids":["111"]}}""", bodies[1]);
    }

    [Fact]
    public async Task ReadAsync_StalledStream_ReconnectsAfterTheStallTimeout()
    {
        var streams = 0;
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                Interlocked.Exchange(ref streams, n);
                if (n == 1)
                {
                    await WriteLinesAsync(ctx, [Tweet("2001", "first")]);
                    await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default); // silence: no keep-alive
                    return;
                }

                await WriteLinesAsync(ctx, [Tweet("2002", "after the stall")]);
                await HoldAsync(ctx);
            },
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, _, time) = NewSource(server.Url, o => o.StallTimeoutSeconds = 5);

        // Fake time passes while the first stream is silent; no real second is waited.
        var collect = FeedEvents.CollectAsync(source, es => es.Count == 2);
        await time.AdvanceWhileAsync(() => Volatile.Read(ref streams) < 2, TimeSpan.FromSeconds(1));
        var events = await collect;

        Assert.Equal(["x:2001", "x:2002"], events.Select(e => e.PostId));
        Assert.Contains("stalled: nothing for 5 s", health.For("x:stream").Snapshot().LastError, StringComparison.Ordinal);
        Assert.Equal(0.25, source.Delays.Single().TotalSeconds);
    }

    [SkippableFact]
    public async Task ReadAsync_RecordedStream_DropsTheDuplicateReconnectsOnDisconnectAndDeadLettersTheTruncatedLine()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var recorded = File.ReadAllLines(TestPaths.Fixture("x-api-v2", "stream", "streaming_output.jsonl")).Where(l => l.Length > 0).ToList();
        var truncated = File.ReadAllLines(TestPaths.Fixture("x-api-v2", "stream", "streaming_output_with_error.jsonl")).Where(l => l.Length > 0).Last();
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                // Connection 1: lines 1-5 (line 5 is the operational-disconnect error); then 6-9 (8 and 9 are one tweet) and the truncated line.
                await WriteLinesAsync(ctx, n == 1 ? recorded[..5] : [.. recorded[5..], truncated]);
                await HoldAsync(ctx);
            },
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, dead, _) = NewSource(server.Url);

        // Read until the 7 posts are in, the truncated line is dead-lettered and the background gap recovery has reported.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = new List<FeedEvent>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in source.ReadAsync(stop.Token))
            {
                lock (events)
                {
                    events.Add(e);
                }
            }
        });
        await GapsAsync(health.For("x:stream"), 1);
        await Eventually.UntilAsync(
            () =>
            {
                lock (events)
                {
                    return dead.Items.Count > 0 && events.Count >= 7;
                }
            },
            TimeSpan.FromSeconds(30),
            "7 events and the dead-lettered line");

        await stop.CancelAsync();
        await reading.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.Equal(7, events.Select(e => e.PostId).Distinct().Count());
        Assert.Equal(2, fake.StreamConnections);
        Assert.Equal(0.25, source.Delays.Single().TotalSeconds);
        Assert.StartsWith("malformed JSON", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
        Assert.True(Assert.Single(await GapsAsync(health.For("x:stream"), 1)).Recovered);
    }

    [Fact]
    public async Task ReadAsync_StreamLineWithInvalidUtf8OrOverTheLimit_IsDeadLetteredAsReceived_AndTheStreamGoesOn()
    {
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
                ctx.Response.ContentType = "application/json";
                var bad = System.Text.Encoding.UTF8.GetBytes(Tweet("2001", "Flood at the weir")).ToList();
                bad.InsertRange(bad.IndexOf((byte)'F'), new byte[] { 0xC3, 0x28 }); // not UTF-8: once decoded as text it became U+FFFD and passed
                var tooLong = "{\"data\":{\"id\":\"2002\",\"text\":\"" + new string('x', 3000) + "\"}}\r\n" + Tweet("2003", "Water over the road") + "\r\n";
                await ctx.Response.Body.WriteAsync(bad.Concat("\r\n"u8.ToArray()).Concat(System.Text.Encoding.UTF8.GetBytes(tooLong)).ToArray(), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                await HoldAsync(ctx);
            },
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, _, dead, _) = NewSource(server.Url, o => o.MaxLineBytes = 2048);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        FeedEvent? first = null;
        await foreach (var e in source.ReadAsync(stop.Token))
        {
            first = e;
            break;
        }

        Assert.Equal("x:2003", first?.PostId);
        Assert.Equal(["invalid UTF-8 at byte", "line exceeds 2048 bytes"], dead.Items.Select(d => d.Reason.StartsWith("invalid UTF-8 at byte", StringComparison.Ordinal) ? "invalid UTF-8 at byte" : d.Reason));
        Assert.StartsWith("base64:", dead.Items.First().Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PollTrendsAsync_RecordsTheTrendsForTheWoeid()
    {
        var fake = new FakeX { Stream = (_, _) => Task.CompletedTask };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var trends = new TrendRegistry();
        var source = new XFeedSource(new XOptions { BearerToken = "t", BaseUrl = server.Url, TrendsWoeid = 1 }, new HttpClient(), new ListDeadLetters(),
            new FeedHealthRegistry(TimeProvider.System), trends, TimeProvider.System, NullLogger<XFeedSource>.Instance);

        await source.PollTrendsAsync(CancellationToken.None);

        var snapshot = Assert.Single(trends.Latest());
        Assert.Equal("x:woeid:1", snapshot.Source);
        Assert.Equal([("#RivertonFlood", (long?)12000), ("Cup Final", null)], snapshot.Trends.Select(t => (t.Name, t.Volume)));
    }
}
