using StreamIngest.Embedded.Sqlite;
using StreamIngest.Tests;
using StreamIngest.Tests.Contracts;
using StreamIngest.Watches;

namespace StreamIngest.Embedded.Tests.Sqlite;

/// <summary>The watch store contract on a real SQLite file per test, and a restart.</summary>
public sealed class SqliteWatchStoreTests : WatchStoreContract, IDisposable
{
    private readonly List<SqliteDatabase> _databases = [];

    protected override Task<IWatchStore> NewStoreAsync() => Task.FromResult<IWatchStore>(new SqliteWatchStore(Open(Path.Combine(TestPaths.NewTempDir(), "watches.db"))));

    private SqliteDatabase Open(string path)
    {
        var db = new SqliteDatabase(path);
        _databases.Add(db);
        return db;
    }

    [Fact]
    public async Task WatchesEventsAndDeliveryState_SurviveARestart()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "watches.db");
        var before = new SqliteWatchStore(Open(path));
        await before.AddAsync(new Watch { Id = "w1", Query = "q", Vector = [1f], CreatedAt = Now }, CancellationToken.None);
        await before.AppendEventsAsync([("w1", "test:1", 0.9), ("w1", "test:2", 0.8)], Now, CancellationToken.None);
        await before.SetDeliveredAsync("w1", 1, CancellationToken.None);
        _databases[0].Dispose();

        var after = new SqliteWatchStore(Open(path));

        Assert.Equal("w1", Assert.Single(await after.ListAsync(CancellationToken.None)).Id);
        Assert.Equal(["test:2"], (await after.ReadEventsAsync("w1", await after.GetDeliveredAsync("w1", CancellationToken.None), 10, CancellationToken.None)).Select(e => e.PostId));
        Assert.Equal(0, await after.AppendEventsAsync([("w1", "test:2", 0.8)], Now, CancellationToken.None));
    }

    public void Dispose() => _databases.ForEach(d => d.Dispose());
}
