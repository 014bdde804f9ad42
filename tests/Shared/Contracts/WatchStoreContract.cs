using StreamIngest.Retrieve;
using StreamIngest.Watches;

namespace StreamIngest.Tests.Contracts;

/// <summary>
/// What every <see cref="IWatchStore"/> must do: the same assertions against SQLite (always) and Cosmos DB (where an
/// emulator or account is configured).
/// </summary>
public abstract class WatchStoreContract
{
    protected static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store with no watches, owned by the calling test.</summary>
    protected abstract Task<IWatchStore> NewStoreAsync();

    private static string NewId() => "w_" + Guid.NewGuid().ToString("N")[..16];

    [SkippableFact]
    public async Task Watch_RoundTripsWithItsFilters_AndEventsAreRecordedOncePerPostInOrder()
    {
        var watches = await NewStoreAsync();
        var id = NewId();
        var watch = new Watch
        {
            Id = id, Query = "flood", Vector = [0.6f, 0.8f], MinScore = 0.4, Entity = EntityFilter.TryParse("$TSLA"),
            Filter = new PostFilter { Sentiment = "negative", MinEngagement = 3 }, WebhookUrl = new Uri("https://example.org/hook"), WebhookSecret = "0123456789abcdef",
            CreatedAt = Now,
        };
        await watches.AddAsync(watch, CancellationToken.None);

        var first = await watches.AppendEventsAsync([(id, "test:1", 0.9), (id, "test:2", 0.7)], Now, CancellationToken.None);
        var again = await watches.AppendEventsAsync([(id, "test:2", 0.7), (id, "test:3", 0.5), (id, "test:3", 0.5)], Now, CancellationToken.None); // a redelivered batch
        var events = await watches.ReadEventsAsync(id, 0, 10, CancellationToken.None);
        var tail = await watches.ReadEventsAsync(id, events[0].Seq, 10, CancellationToken.None);
        var stored = Assert.Single(await watches.ListAsync(CancellationToken.None));
        var byId = await watches.GetAsync(id, CancellationToken.None);
        var missing = await watches.GetAsync("w_missing", CancellationToken.None);

        Assert.Equal((2, 1), (first, again));
        Assert.Equal(["test:1", "test:2", "test:3"], events.Select(e => e.PostId));
        Assert.True(events.Zip(events.Skip(1)).All(p => p.Second.Seq > p.First.Seq), "sequence numbers increase");
        Assert.Equal(["test:2", "test:3"], tail.Select(e => e.PostId));
        Assert.Equal(0.9, events[0].Score, 6);
        Assert.Equal(watch.Vector, stored.Vector);
        Assert.Equal(watch.Entity, stored.Entity);
        Assert.Equal(watch.Filter, stored.Filter);
        Assert.Equal(watch.WebhookUrl, stored.WebhookUrl);
        Assert.Equal(watch.WebhookSecret, stored.WebhookSecret);
        Assert.Equal(id, byId?.Id);
        Assert.Equal(watch.Vector, byId?.Vector);
        Assert.Equal(watch.Filter, byId?.Filter);
        Assert.Null(missing);
    }

    [SkippableFact]
    public async Task Events_MoreThanOneBatchForAWatch_KeepTheirOrderAndLimit()
    {
        var watches = await NewStoreAsync();
        var id = NewId();
        await watches.AddAsync(new Watch { Id = id, Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);

        var added = await watches.AppendEventsAsync([.. Enumerable.Range(0, 250).Select(i => (id, $"test:{i:D3}", 0.5))], Now, CancellationToken.None);
        var page = await watches.ReadEventsAsync(id, 0, 100, CancellationToken.None);
        var last = await watches.ReadEventsAsync(id, page[^1].Seq, 1000, CancellationToken.None);

        Assert.Equal(250, added);
        Assert.Equal(100, page.Count);
        Assert.Equal(150, last.Count);
        Assert.Equal([.. Enumerable.Range(100, 150).Select(i => $"test:{i:D3}")], last.Select(e => e.PostId));
        Assert.True(last.Zip(last.Skip(1)).All(p => p.Second.Seq > p.First.Seq), "sequence numbers increase");
    }

    [SkippableFact]
    public async Task DeliveredPosition_OnlyMovesForward_AndDeleteRemovesTheWatch()
    {
        var watches = await NewStoreAsync();
        var id = NewId();
        await watches.AddAsync(new Watch { Id = id, Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);
        await watches.AppendEventsAsync([(id, "test:1", 0.9)], Now, CancellationToken.None);

        var initial = await watches.GetDeliveredAsync(id, CancellationToken.None);
        await watches.SetDeliveredAsync(id, 5, CancellationToken.None);
        await watches.SetDeliveredAsync(id, 3, CancellationToken.None);
        var delivered = await watches.GetDeliveredAsync(id, CancellationToken.None);
        var deleted = await watches.DeleteAsync(id, CancellationToken.None);
        var deletedAgain = await watches.DeleteAsync(id, CancellationToken.None);

        Assert.Equal((0L, 5L), (initial, delivered));
        Assert.True(deleted);
        Assert.False(deletedAgain);
        Assert.DoesNotContain(await watches.ListAsync(CancellationToken.None), w => w.Id == id);
    }

    [SkippableFact]
    public async Task DeliveryLease_HeldByOneOwnerUntilItExpires_AndRenewableByItsOwner()
    {
        var watches = await NewStoreAsync();
        var id = NewId();
        await watches.AddAsync(new Watch { Id = id, Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);
        var until = Now.AddMinutes(2);

        var a = await watches.TryLeaseDeliveryAsync(id, "replica-a", Now, until, CancellationToken.None);
        var b = await watches.TryLeaseDeliveryAsync(id, "replica-b", Now.AddMinutes(1), Now.AddMinutes(3), CancellationToken.None);
        var renewed = await watches.TryLeaseDeliveryAsync(id, "replica-a", Now.AddMinutes(1), Now.AddMinutes(3), CancellationToken.None);
        var bBeforeExpiry = await watches.TryLeaseDeliveryAsync(id, "replica-b", Now.AddMinutes(2.5), Now.AddMinutes(5), CancellationToken.None);
        var bAfterExpiry = await watches.TryLeaseDeliveryAsync(id, "replica-b", Now.AddMinutes(3), Now.AddMinutes(5), CancellationToken.None);
        var aAfterLosingIt = await watches.TryLeaseDeliveryAsync(id, "replica-a", Now.AddMinutes(4), Now.AddMinutes(6), CancellationToken.None);

        Assert.Equal((true, false, true), (a, b, renewed));
        Assert.Equal((false, true, false), (bBeforeExpiry, bAfterExpiry, aAfterLosingIt));
    }

    [SkippableFact]
    public async Task DeliveryLog_NewestFirst()
    {
        var watches = await NewStoreAsync();
        var id = NewId();
        await watches.AddAsync(new Watch { Id = id, Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);

        await watches.LogDeliveryAsync(new WatchDelivery(id, 1, 1, 500, "failed: HTTP 500", Now), CancellationToken.None);
        await watches.LogDeliveryAsync(new WatchDelivery(id, 1, 2, 200, "delivered", Now.AddSeconds(1)), CancellationToken.None);
        var log = await watches.ListDeliveriesAsync(id, 10, CancellationToken.None);

        Assert.Equal([(2, (int?)200, "delivered"), (1, 500, "failed: HTTP 500")], log.Select(d => (d.Attempt, d.Status, d.Outcome)));
    }
}
