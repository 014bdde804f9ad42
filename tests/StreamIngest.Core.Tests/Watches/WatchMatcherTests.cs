using Microsoft.Extensions.Time.Testing;
using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Watches;

namespace StreamIngest.Core.Tests.Watches;

public class WatchMatcherTests
{
    private static Post P(string id, string text, float[] embedding)
    {
        var post = StandardEnricherTests.NewPost(text, id);
        new StreamIngest.Enrich.StandardEnricher().Enrich(post);
        post.Embedding = embedding;
        return post;
    }

    private static Watch W(string id, float[] vector, double minScore = 0.5, EntityFilter? entity = null) =>
        new() { Id = id, Query = id, Vector = vector, MinScore = minScore, Entity = entity };

    [Fact]
    public async Task Match_RecordsEachPostThatIsCloseEnoughAndPassesTheFilters_AndWakesWaiters()
    {
        var store = new MemoryWatchStore(
            W("floods", [1, 0, 0]),
            W("tagged", [1, 0, 0], entity: EntityFilter.TryParse("#flood")),
            W("strict", [1, 0, 0], minScore: 0.99));
        var matcher = new WatchMatcher(store, new FakeTimeProvider());
        var woken = matcher.WaitForEventsAsync(CancellationToken.None);

        var added = await matcher.MatchAsync(
        [
            P("1", "River over the banks #flood", [0.8f, 0.6f, 0]),
            P("2", "River over the banks", [0.8f, 0.6f, 0]),
            P("3", "Cup final tonight", [0, 0, 1]),
        ], CancellationToken.None);

        Assert.Equal(3, added);
        Assert.Equal(["floods test:1", "floods test:2", "tagged test:1"], store.Events.Select(e => $"{e.WatchId} {e.PostId}").Order());
        Assert.True(woken.IsCompletedSuccessfully);
        Assert.Equal(0.8, store.Events[0].Score, 4);
    }

    [Fact]
    public async Task Match_AfterReload_SeesANewWatch()
    {
        var store = new MemoryWatchStore();
        var matcher = new WatchMatcher(store, new FakeTimeProvider());
        await matcher.MatchAsync([P("1", "a", [1, 0, 0])], CancellationToken.None);

        store.Watches.Add(W("late", [1, 0, 0]));
        var before = await matcher.MatchAsync([P("2", "b", [1, 0, 0])], CancellationToken.None);
        matcher.Reload();
        var after = await matcher.MatchAsync([P("3", "c", [1, 0, 0])], CancellationToken.None);

        Assert.Equal((0, 1), (before, after));
    }

    [Fact]
    public async Task Match_SeesAWatchAddedByAnotherProcess_OnceTheRefreshIntervalHasPassed()
    {
        var store = new MemoryWatchStore();
        var time = new FakeTimeProvider();
        var matcher = new WatchMatcher(store, time) { RefreshInterval = TimeSpan.FromSeconds(10) };
        await matcher.MatchAsync([P("1", "a", [1, 0, 0])], CancellationToken.None);

        store.Watches.Add(W("elsewhere", [1, 0, 0])); // no Reload: the API role is another process
        time.Advance(TimeSpan.FromSeconds(9));
        var before = await matcher.MatchAsync([P("2", "b", [1, 0, 0])], CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        var after = await matcher.MatchAsync([P("3", "c", [1, 0, 0])], CancellationToken.None);

        Assert.Equal((0, 1), (before, after));
    }

    [Fact]
    public async Task Match_APostReceivedBeforeTheWatchWasMade_IsNotNewsToIt()
    {
        var made = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var store = new MemoryWatchStore(W("floods", [1, 0, 0]) with { CreatedAt = made });
        var matcher = new WatchMatcher(store, new FakeTimeProvider(made.AddMinutes(5)));
        var redelivered = P("old", "River over the banks", [1, 0, 0]);
        redelivered.ReceivedAt = made.AddSeconds(-30); // first received before the watch; handed over again now
        var fresh = P("new", "River over the banks again", [1, 0, 0]);
        fresh.ReceivedAt = made.AddSeconds(30);

        var added = await matcher.MatchAsync([redelivered, fresh], CancellationToken.None);

        Assert.Equal(1, added);
        Assert.Equal(["test:new"], store.Events.Select(e => e.PostId));
    }
}
