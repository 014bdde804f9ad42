using StreamIngest.Embedded.Sqlite;
using StreamIngest.Retrieve;
using StreamIngest.Watches;

namespace StreamIngest.Embedded.Tests.Sqlite;

public class SqliteWatchStoreTests : StoreTestBase
{
    [Fact]
    public async Task Watch_RoundTripsWithItsFilters_AndEventsAreRecordedOncePerPostInOrder()
    {
        var watches = new SqliteWatchStore(Db);
        var watch = new Watch
        {
            Id = "w1", Query = "flood", Vector = [0.6f, 0.8f], MinScore = 0.4, Entity = EntityFilter.TryParse("$TSLA"),
            Filter = new PostFilter { Sentiment = "negative", MinEngagement = 3 }, WebhookUrl = new Uri("https://example.org/hook"), WebhookSecret = "0123456789abcdef",
            CreatedAt = Now,
        };
        await watches.AddAsync(watch, CancellationToken.None);

        var first = await watches.AppendEventsAsync([("w1", "test:1", 0.9), ("w1", "test:2", 0.7)], Now, CancellationToken.None);
        var again = await watches.AppendEventsAsync([("w1", "test:2", 0.7), ("w1", "test:3", 0.5)], Now, CancellationToken.None); // a redelivered batch
        var events = await watches.ReadEventsAsync("w1", 0, 10, CancellationToken.None);
        var tail = await watches.ReadEventsAsync("w1", events[0].Seq, 10, CancellationToken.None);
        var stored = Assert.Single(await watches.ListAsync(CancellationToken.None));

        Assert.Equal((2, 1), (first, again));
        Assert.Equal(["test:1", "test:2", "test:3"], events.Select(e => e.PostId));
        Assert.Equal(["test:2", "test:3"], tail.Select(e => e.PostId));
        Assert.Equal(watch.Vector, stored.Vector);
        Assert.Equal(watch.Entity, stored.Entity);
        Assert.Equal(watch.Filter, stored.Filter);
        Assert.Equal(watch.WebhookUrl, stored.WebhookUrl);
    }

    [Fact]
    public async Task DeliveredPosition_OnlyMovesForward_AndDeleteRemovesEverything()
    {
        var watches = new SqliteWatchStore(Db);
        await watches.AddAsync(new Watch { Id = "w1", Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);
        await watches.AppendEventsAsync([("w1", "test:1", 0.9)], Now, CancellationToken.None);

        await watches.SetDeliveredAsync("w1", 5, CancellationToken.None);
        await watches.SetDeliveredAsync("w1", 3, CancellationToken.None);
        var delivered = await watches.GetDeliveredAsync("w1", CancellationToken.None);
        var deleted = await watches.DeleteAsync("w1", CancellationToken.None);
        var deletedAgain = await watches.DeleteAsync("w1", CancellationToken.None);

        Assert.Equal(5, delivered);
        Assert.True(deleted);
        Assert.False(deletedAgain);
        Assert.Empty(await watches.ListAsync(CancellationToken.None));
        Assert.Empty(await watches.ReadEventsAsync("w1", 0, 10, CancellationToken.None));
    }
}
