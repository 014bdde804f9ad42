using StreamIngest.Enrich.Signals;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Tests.Contracts;

/// <summary>
/// What every cursor, dead-letter and entity-count store must do, whatever is behind it. The same assertions run
/// against SQLite (always) and Cosmos DB (against cosmosdb-server or an account, where one is configured).
/// </summary>
public abstract class SideStoreContract
{
    /// <summary>Empty stores, owned by the calling test.</summary>
    protected abstract Task<(ICursorStore Cursors, IDeadLetterStore DeadLetters, IEntityCountStore Counts)> NewStoresAsync();

    /// <summary>Why the peer under test cannot run the dead-letter listing, when it cannot (the test then skips, saying so).</summary>
    protected virtual string? DeadLetterListingUnsupported => null;

    /// <summary>Makes counts added so far readable (a store that buffers them writes them here).</summary>
    protected virtual Task FlushAsync(IEntityCountStore counts) => Task.CompletedTask;

    [SkippableFact]
    public async Task Cursors_UnknownIsNull_TheLastSetWins_AndSourcesAreIndependent()
    {
        var (cursors, _, _) = await NewStoresAsync();
        const string jetstream = "jetstream:wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post";
        const string rss = "rss:https://example.com/feed.xml#top";

        Assert.Null(await cursors.GetAsync(jetstream, CancellationToken.None));
        await cursors.SetAsync(jetstream, "1733500000000000", CancellationToken.None);
        await cursors.SetAsync(rss, "etag-1", CancellationToken.None);
        await cursors.SetAsync(jetstream, "1733500000000999", CancellationToken.None);

        Assert.Equal("1733500000000999", await cursors.GetAsync(jetstream, CancellationToken.None));
        Assert.Equal("etag-1", await cursors.GetAsync(rss, CancellationToken.None));
        Assert.Null(await cursors.GetAsync("x:recent", CancellationToken.None));
    }

    [SkippableFact]
    public async Task DeadLetters_AreListedNewestFirst_UpToTheLimit_WithEveryField()
    {
        var (_, deadLetters, _) = await NewStoresAsync();
        Skip.If(DeadLetterListingUnsupported is not null, DeadLetterListingUnsupported);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var letters = Enumerable.Range(0, 3)
            .Select(i => new DeadLetter("jetstream", $"malformed frame {i}", $"{{\"kind\": {i}, \"bad\": \"\\ud800\"}}", i == 1 ? null : $"offset {i}", at.AddSeconds(i)))
            .ToList();
        foreach (var letter in letters)
        {
            await deadLetters.WriteAsync(letter, CancellationToken.None);
        }

        var listed = await deadLetters.ListAsync(2, CancellationToken.None);

        Assert.Equal([letters[2], letters[1]], listed);
        Assert.Equal(3, (await deadLetters.ListAsync(10, CancellationToken.None)).Count);
    }

    [SkippableFact]
    public async Task EntityCounts_AddedTwiceToOneBucket_AreSummed_AndReadFromTheirBucketOn()
    {
        var (_, _, counts) = await NewStoresAsync();
        var current = Bursts.BucketOf(DateTimeOffset.UtcNow);
        var previous = current - Bursts.Bucket;
        await counts.AddAsync([new EntityCount("$TSLA", previous, 2, 0.5, 1), new EntityCount("#flood", current, 1, -0.25, 1)], CancellationToken.None);
        await counts.AddAsync([new EntityCount("#flood", current, 3, -0.5, 2)], CancellationToken.None);
        await FlushAsync(counts);

        var fromCurrent = await counts.ReadAsync(current, CancellationToken.None);
        var fromPrevious = await counts.ReadAsync(previous, CancellationToken.None);

        var flood = Assert.Single(fromCurrent);
        Assert.Equal(("#flood", current, 4L, -0.75, 3L), (flood.Entity, flood.Bucket, flood.Posts, flood.SentimentSum, flood.SentimentPosts));
        Assert.Equal(["#flood", "$TSLA"], fromPrevious.Select(c => c.Entity).Order(StringComparer.Ordinal));
        Assert.Equal(2, fromPrevious.Single(c => c.Entity == "$TSLA").Posts);
    }
}
