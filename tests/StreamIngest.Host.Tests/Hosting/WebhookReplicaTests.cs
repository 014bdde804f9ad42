using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Host.Watches;
using StreamIngest.Tests;
using StreamIngest.Watches;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>Two webhook workers sharing one store (two replicas of the distributed roles): each event is delivered once, by the lease holder.</summary>
public sealed class WebhookReplicaTests
{
    [Fact]
    public async Task TwoReplicas_DeliverEachEventOnce_InOrder()
    {
        var received = new ConcurrentQueue<string>();
        await using var hook = await LocalServer.StartAsync(app => app.MapPost("/hook", (HttpContext ctx) =>
        {
            received.Enqueue(ctx.Request.Headers["Idempotency-Key"].ToString());
            return Results.Ok();
        }));
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "replicas.db"));
        var store = new SqliteWatchStore(db);
        var posts = new SqlitePostStore(db, new Int8VectorIndex(1));
        await store.AddAsync(new Watch { Id = "w1", Query = "flood", Vector = [1f], WebhookUrl = new Uri(hook.Url + "/hook"), WebhookSecret = "secret", CreatedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
        await store.AppendEventsAsync([.. Enumerable.Range(1, 40).Select(i => ("w1", $"test:{i}", 0.9))], DateTimeOffset.UtcNow, CancellationToken.None);
        var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        WebhookDeliveryWorker Replica() => new(
            store, posts, new ListDeadLetters(), new WatchMatcher(store, TimeProvider.System), services.GetRequiredService<IHttpClientFactory>(),
            Options.Create(new WatchOptions { PollSeconds = 0.05 }), Options.Create(new Microsoft.AspNetCore.Http.Json.JsonOptions()), TimeProvider.System,
            NullLogger<WebhookDeliveryWorker>.Instance);
        using var a = Replica();
        using var b = Replica();

        await a.StartAsync(CancellationToken.None);
        await b.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(() => received.Count >= 40, TimeSpan.FromSeconds(30), "40 deliveries");
        await Eventually.UntilAsync(async () => await store.GetDeliveredAsync("w1", CancellationToken.None) == 40, TimeSpan.FromSeconds(10), "the delivered position at 40");
        await a.StopAsync(CancellationToken.None);
        await b.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(1, 40).Select(i => $"w1:{i}"), received); // once each, in order: one replica held the lease
    }
}
