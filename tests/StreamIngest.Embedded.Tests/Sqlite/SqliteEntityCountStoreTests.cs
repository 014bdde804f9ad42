using StreamIngest.Embedded.Sqlite;
using StreamIngest.Store;
using StreamIngest.Tests;

namespace StreamIngest.Embedded.Tests.Sqlite;

public sealed class SqliteEntityCountStoreTests : IDisposable
{
    private readonly SqliteDatabase _db = new(Path.Combine(TestPaths.NewTempDir(), "counts.db"));

    private static readonly DateTimeOffset B0 = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Add_SameEntityAndBucket_Accumulates_AndSurvivesReopening()
    {
        var store = new SqliteEntityCountStore(_db);
        await store.AddAsync([new EntityCount("$NVDA", B0, 2, 0.5, 2), new EntityCount("#flood", B0, 1, 0, 0)], CancellationToken.None);
        await store.AddAsync([new EntityCount("$NVDA", B0, 3, -0.2, 1)], CancellationToken.None);

        var read = await new SqliteEntityCountStore(_db).ReadAsync(B0.AddMinutes(-5), CancellationToken.None);

        var nvda = Assert.Single(read, c => c.Entity == "$NVDA");
        Assert.Equal(5, nvda.Posts);
        Assert.Equal(0.3, nvda.SentimentSum, 6);
        Assert.Equal(3, nvda.SentimentPosts);
        Assert.Equal(B0, nvda.Bucket);
    }

    [Fact]
    public async Task Purge_DropsOldBucketsOnly()
    {
        var store = new SqliteEntityCountStore(_db);
        await store.AddAsync([new EntityCount("#a", B0, 1, 0, 0), new EntityCount("#a", B0.AddDays(2), 1, 0, 0)], CancellationToken.None);

        var purged = await store.PurgeAsync(B0.AddDays(1), CancellationToken.None);

        Assert.Equal(1, purged);
        Assert.Equal(B0.AddDays(2), Assert.Single(await store.ReadAsync(DateTimeOffset.UnixEpoch, CancellationToken.None)).Bucket);
    }

    public void Dispose() => _db.Dispose();
}

/// <summary>The story memory read back from a real SQLite file after a "restart".</summary>
public sealed class StoryMemoryWarmTests : IDisposable
{
    private readonly SqliteDatabase _db = new(Path.Combine(TestPaths.NewTempDir(), "stories.db"));

    [Fact]
    public async Task WarmAsync_AfterRestart_NewNearDuplicateJoinsTheStoredStory()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new SqlitePostStore(_db, new StreamIngest.Embedded.Vectors.Int8VectorIndex(4));
        var stored = new StreamIngest.Model.Post
        {
            Id = "demo:1", Source = "demo", NativeId = "1", CreatedAt = time.GetUtcNow().AddHours(-2), Text = "Evacuation order for Pine Hollow and Cedar Ridge because of the wildfire, leave now via Route 9",
            ClusterId = "demo:1", Embedding = [1, 0, 0, 0], Provenance = new StreamIngest.Model.Provenance("t", "t", DateTimeOffset.UnixEpoch, "00"),
        };
        await store.UpsertAsync([stored], CancellationToken.None);

        var restarted = new StreamIngest.Enrich.Signals.StoryClusterer(time);
        var warmed = await restarted.WarmAsync(new SqlitePostReader(_db), CancellationToken.None);
        var next = new StreamIngest.Model.Post
        {
            Id = "demo:2", Source = "demo", NativeId = "2", CreatedAt = time.GetUtcNow(), Text = "RT @county: Evacuation order for Pine Hollow and Cedar Ridge because of the wildfire, leave now via Route 12",
            Provenance = new StreamIngest.Model.Provenance("t", "t", DateTimeOffset.UnixEpoch, "00"),
        };
        restarted.Enrich(next);

        Assert.Equal(1, warmed);
        Assert.Equal("demo:1", next.ClusterId);
    }

    public void Dispose() => _db.Dispose();
}
