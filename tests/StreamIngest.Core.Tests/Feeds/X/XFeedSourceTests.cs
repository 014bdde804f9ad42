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
public class XFeedSourceTests
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
                return Results.Text(Search(ctx.Request.Query["since_id"].ToString()), "application/json");
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
                        await WriteLinesAsync(ctx, [Tweet("1001", "River rising"), "", Tweet("1002", "Bridge closed")]);
                        await Task.Delay(200);
                        ctx.Abort();
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
            Search = since => since == "1002"
                ? """{"data":[{"id":"1004","text":"Missed while down","created_at":"2026-11-20T10:05:00.000Z"},{"id":"1003","text":"Also missed","created_at":"2026-11-20T10:04:00.000Z"}],"meta":{"result_count":2}}"""
                : """{"meta":{"result_count":0}}""",
        };
        await using var server = await LocalServer.StartAsync(fake.Map);
        var (source, health, _, _) = NewSource(server.Url);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 5);

        Assert.Equal(["x:1001", "x:1002", "x:1004", "x:1003", "x:1005"], events.Select(e => e.PostId));
        Assert.Equal(0.25, source.Delays[0].TotalSeconds);             // TCP-level drop: linear from 250 ms
        Assert.InRange(source.Delays[1].TotalSeconds, 190, 201);       // 429: until x-rate-limit-reset (> 1 min)
        Assert.Equal(5, source.Delays[2].TotalSeconds);                // 503: exponential from 5 s
        Assert.Equal(3, source.Delays.Count);
        var gap = Assert.Single(health.For("x:stream").Gaps);
        Assert.True(gap.Recovered);
        Assert.Contains(fake.Requests, r => r.StartsWith("GET recent", StringComparison.Ordinal) && r.Contains("since_id=1002", StringComparison.Ordinal));
        Assert.Contains(fake.Requests, r => r.StartsWith("GET stream", StringComparison.Ordinal) && r.Contains("expansions=author_id", StringComparison.Ordinal));
        Assert.Equal("GET rules Bearer test-token", fake.Requests.First());
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
        var fake = new FakeX
        {
            Stream = async (n, ctx) =>
            {
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
        var (source, health, _, _) = NewSource(server.Url);

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 2);

        Assert.Equal(["x:2001", "x:2002"], events.Select(e => e.PostId));
        Assert.Contains("stalled", health.For("x:stream").Snapshot().LastError, StringComparison.Ordinal);
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

        var events = await FeedEvents.CollectAsync(source, es => es.Count == 7);
        await Task.Delay(300); // the truncated line follows the last tweet on the wire

        Assert.Equal(7, events.Select(e => e.PostId).Distinct().Count());
        Assert.Equal(2, fake.StreamConnections);
        Assert.Equal(0.25, source.Delays.Single().TotalSeconds);
        Assert.StartsWith("malformed JSON", Assert.Single(dead.Items).Reason, StringComparison.Ordinal);
        Assert.True(Assert.Single(health.For("x:stream").Gaps).Recovered);
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
