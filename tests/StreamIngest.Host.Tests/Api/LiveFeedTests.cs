using System.Globalization;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>The whole host fed by a local Jetstream: live posts become searchable, the cursor is stored, no network falls back to the demo.</summary>
public sealed class LiveFeedTests
{
    /// <summary>A Jetstream v1 frame creating post <paramref name="i"/> (also used by the dashboard's feed-drop test).</summary>
    internal static string Frame(int i, long timeUs, string text) =>
        JsonSerializer.Serialize(new
        {
            did = "did:plc:live",
            time_us = timeUs,
            kind = "commit",
            commit = new
            {
                rev = $"r{i}",
                operation = "create",
                collection = "app.bsky.feed.post",
                rkey = $"live{i}",
                record = new Dictionary<string, object> { ["$type"] = "app.bsky.feed.post", ["createdAt"] = DateTimeOffset.FromUnixTimeMilliseconds(timeUs / 1000).ToString("O", CultureInfo.InvariantCulture), ["text"] = text, ["langs"] = new[] { "en" } },
                cid = $"c{i}",
            },
        });

    [Fact]
    public async Task Jetstream_LivePosts_AreSearchableWithinSecondsAndTheCursorIsStored()
    {
        var dir = TestPaths.NewTempDir();
        var queries = new List<string>();
        string[] texts = ["Wildfire smoke over Cedar Ridge this morning", "Evacuation order for Pine Hollow because of the wildfire", "Cup final tonight, can't wait"];
        await using var jetstream = await LocalServer.StartAsync(app => app.Map("/subscribe", async (HttpContext ctx) =>
        {
            lock (queries)
            {
                queries.Add(ctx.Request.QueryString.Value ?? string.Empty);
            }

            using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            for (var i = 0; i < texts.Length; i++)
            {
                await ws.SendAsync(Encoding.UTF8.GetBytes(Frame(i, now + i, texts[i])), WebSocketMessageType.Text, true, ctx.RequestAborted);
            }

            await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }));
        var settings = new Dictionary<string, string?>
        {
            ["Feeds:Jetstream:Enabled"] = "true",
            ["Feeds:Jetstream:Endpoints:0"] = jetstream.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe",
        };

        long storedCursor;
        await using (var host = new StreamIngestHost(dir, null, settings))
        {
            var stats = await host.WaitForProcessedAsync(3);
            using var client = host.CreateClient();
            var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=wildfire+evacuation&window=PT5M&k=2&source=bsky");
            var feeds = await client.GetFromJsonAsync<JsonElement>("/v1/feeds");

            Assert.Equal(["bsky:did:plc:live/live0", "bsky:did:plc:live/live1"], search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).Order());
            Assert.True(stats.GetProperty("freshness_p99_ms").GetDouble() < 2000, $"freshness {stats}");
            var feed = feeds.EnumerateArray().Single(f => f.GetProperty("name").GetString() == "jetstream");
            Assert.True(feed.GetProperty("connected").GetBoolean());
            Assert.Equal(3, feed.GetProperty("events").GetInt64());
            storedCursor = long.Parse((await ReadCursorAsync(dir))!, CultureInfo.InvariantCulture);
        }

        // The cursor is the last stored event's time_us; a restart resumes from it, rewound 5 s.
        await using (var again = new StreamIngestHost(dir, null, settings))
        {
            await again.WaitForProcessedAsync(3);
            lock (queries)
            {
                Assert.Contains($"cursor={storedCursor - 5_000_000}", queries[^1], StringComparison.Ordinal);
            }

            var stats = await again.WaitForStatsAsync(s => s.GetProperty("stored_posts").GetInt64() == 3);
            Assert.Equal(3, stats.GetProperty("stored_posts").GetInt64());
        }
    }

    [Fact]
    public async Task Jetstream_NoNetwork_FallsBackToTheReplay()
    {
        var dir = TestPaths.NewTempDir();
        var replay = ReplayFile.Write(dir, [ReplayFile.Post("1", "Demo post about the flood", 1), ReplayFile.Post("2", "Another demo post", 2)]);
        var settings = new Dictionary<string, string?>
        {
            ["Feeds:Jetstream:Enabled"] = "true",
            ["Feeds:Jetstream:Endpoints:0"] = "ws://127.0.0.1:1/subscribe", // nothing listens here
        };
        await using var host = new StreamIngestHost(dir, replay, settings);

        var stats = await host.WaitForProcessedAsync(2);
        using var client = host.CreateClient();
        var feeds = await client.GetFromJsonAsync<JsonElement>("/v1/feeds");

        Assert.Equal(2, stats.GetProperty("stored_posts").GetInt64());
        var feed = feeds.EnumerateArray().Single(f => f.GetProperty("name").GetString() == "jetstream");
        Assert.False(feed.GetProperty("connected").GetBoolean());
        Assert.False(string.IsNullOrEmpty(feed.GetProperty("last_error").GetString()));
    }

    private static async Task<string?> ReadCursorAsync(string dir)
    {
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "streamingest.db")};Pooling=false");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT cursor FROM cursors WHERE source = 'bsky'";
        return await cmd.ExecuteScalarAsync() as string;
    }
}
