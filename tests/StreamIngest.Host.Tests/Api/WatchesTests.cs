using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StreamIngest.Host.Watches;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Standing queries end to end: a local Jetstream sends posts only after the watch exists; matches arrive over SSE and a signed webhook.</summary>
public sealed class WatchesTests
{
    private const string Secret = "a-webhook-secret-of-some-length";

    private sealed record Delivery(string Body, string? Signature, string? Timestamp, string? IdempotencyKey, int Status);

    [Fact]
    public async Task Watch_PushesMatchingPostsOverSseAndASignedRetriedWebhook_AndResumesFromLastEventId()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string[] texts = ["Wildfire smoke over Cedar Ridge this morning", "Evacuation order for Pine Hollow because of the wildfire", "Cup final tonight, can't wait"];
        await using var jetstream = await LocalServer.StartAsync(app => app.Map("/subscribe", async (HttpContext ctx) =>
        {
            using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
            await release.Task.WaitAsync(ctx.RequestAborted);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            for (var i = 0; i < texts.Length; i++)
            {
                await ws.SendAsync(Encoding.UTF8.GetBytes(LiveFeedTests.Frame(i, now + i, texts[i])), WebSocketMessageType.Text, true, ctx.RequestAborted);
            }

            await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        }));

        // The webhook receiver fails the very first attempt, then accepts.
        var deliveries = new ConcurrentQueue<Delivery>();
        var twoDelivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await LocalServer.StartAsync(app => app.MapPost("/hook", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var status = deliveries.IsEmpty ? 500 : 200;
            deliveries.Enqueue(new Delivery(body, ctx.Request.Headers["X-StreamIngest-Signature"], ctx.Request.Headers["X-StreamIngest-Timestamp"], ctx.Request.Headers["Idempotency-Key"], status));
            if (deliveries.Count(d => d.Status == 200) == 2)
            {
                twoDelivered.TrySetResult();
            }

            return Results.StatusCode(status);
        }));

        await using var host = new StreamIngestHost(TestPaths.NewTempDir(), null, new Dictionary<string, string?>
        {
            ["Feeds:Jetstream:Enabled"] = "true",
            ["Feeds:Jetstream:Endpoints:0"] = jetstream.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe",
            ["Watches:FirstBackoffSeconds"] = "0.05",
            ["Feeds:Jetstream:IdleTimeoutSeconds"] = "600", // the feed is silent until the watch exists
        });
        using var client = host.CreateClient();

        using var created = await client.PostAsJsonAsync("/v1/watches", new
        {
            query = "wildfire evacuation",
            min_score = 0.35,
            webhook = new { url = receiver.Url + "/hook", secret = Secret },
        });
        var watch = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = watch.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.DoesNotContain(Secret, watch.ToString(), StringComparison.Ordinal);

        // SSE: open the stream, then let the feed send.
        using var sse = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/v1/watches/{id}/events"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", sse.Content.Headers.ContentType?.MediaType);
        release.SetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = await ReadEventsAsync(sse, 2, timeout.Token);

        Assert.Equal(["bsky:did:plc:live/live0", "bsky:did:plc:live/live1"], events.Select(e => e.Data.GetProperty("post").GetProperty("id").GetString()).Order());
        Assert.All(events, e => Assert.True(e.Data.GetProperty("score").GetDouble() >= 0.35));

        // Resume after the first event: the stream starts at the second.
        var resume = new HttpRequestMessage(HttpMethod.Get, $"/v1/watches/{id}/events");
        resume.Headers.Add("Last-Event-ID", events[0].Id);
        using var resumed = await client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(events[1].Id, (await ReadEventsAsync(resumed, 1, timeout.Token))[0].Id);

        // Webhook: both matches delivered, each signed, the failed first attempt retried under the same idempotency key.
        await twoDelivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var all = deliveries.ToArray();
        Assert.Equal(all[0].IdempotencyKey, all[1].IdempotencyKey);
        foreach (var d in all)
        {
            Assert.Equal("sha256=" + WebhookDeliveryWorker.Sign(Secret, d.Timestamp!, d.Body), d.Signature);
            Assert.Equal(d.IdempotencyKey, JsonDocument.Parse(d.Body).RootElement.GetProperty("id").GetString());
        }

        // The receiver answered before the worker logged it: wait for the log to say so.
        JsonElement log = default;
        await Eventually.UntilAsync(
            async () => (log = await client.GetFromJsonAsync<JsonElement>($"/v1/watches/{id}/deliveries")).EnumerateArray().Count(l => l.GetProperty("outcome").GetString() == "delivered") >= 2,
            TimeSpan.FromSeconds(30),
            "both deliveries in the log");

        Assert.Contains(log.EnumerateArray(), l => l.GetProperty("outcome").GetString() == "failed: HTTP 500");
        Assert.Equal(2, log.EnumerateArray().Count(l => l.GetProperty("outcome").GetString() == "delivered"));
    }

    [Fact]
    public async Task Watch_SurvivesARestart_AndBadBodiesAreProblemDetails()
    {
        var dir = TestPaths.NewTempDir();
        string id;
        await using (var host = new StreamIngestHost(dir, null))
        {
            using var client = host.CreateClient();
            using var noSecret = await client.PostAsJsonAsync("/v1/watches", new { query = "flood", webhook = new { url = "https://example.org/hook" } });
            using var noQuery = await client.PostAsJsonAsync("/v1/watches", new { min_score = 3 });
            await ProblemAssert.NamesAsync(noSecret, "webhook.secret");
            await ProblemAssert.NamesAsync(noQuery, "query", "min_score");

            using var both = await client.PostAsJsonAsync("/v1/watches", new { query = "flood", min_score = 0.5, min_relevance = 0.5 });
            using var outOfRange = await client.PostAsJsonAsync("/v1/watches", new { query = "flood", min_relevance = 1.0 });
            await ProblemAssert.NamesAsync(both, "min_relevance");
            await ProblemAssert.NamesAsync(outOfRange, "min_relevance");

            // An estimated relevance becomes the model's cosine for it (MiniLM: 0.5 ↔ 0.656), and is shown beside it.
            using var confident = await client.PostAsJsonAsync("/v1/watches", new { query = "river flooding", min_relevance = 0.5 });
            var made = await confident.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(StreamIngest.Retrieve.RelevanceCalibration.MiniLm.ScoreFor(0.5), made.GetProperty("min_score").GetDouble(), 4);
            Assert.InRange(made.GetProperty("min_score").GetDouble(), 0.6, 0.7);
            Assert.Equal(0.5, made.GetProperty("min_relevance").GetDouble(), 3);

            using var created = await client.PostAsJsonAsync("/v1/watches", new { query = "river flooding", entity = "#flood" });
            id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }

        await using (var again = new StreamIngestHost(dir, null))
        {
            using var client = again.CreateClient();
            var watch = await client.GetFromJsonAsync<JsonElement>($"/v1/watches/{id}");
            Assert.Equal("river flooding", watch.GetProperty("query").GetString());
            Assert.Equal("hashtag:flood", watch.GetProperty("entity").GetString());

            using var deleted = await client.DeleteAsync(new Uri($"/v1/watches/{id}", UriKind.Relative));
            using var gone = await client.GetAsync(new Uri($"/v1/watches/{id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
    }

    private static async Task<List<(string Id, JsonElement Data)>> ReadEventsAsync(HttpResponseMessage response, int count, CancellationToken cancellationToken)
    {
        var events = new List<(string, JsonElement)>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        string? eventId = null;
        while (events.Count < count)
        {
            var line = await reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("the event stream ended");
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                eventId = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((eventId!, JsonDocument.Parse(line[6..]).RootElement.Clone()));
            }
        }

        return events;
    }
}
