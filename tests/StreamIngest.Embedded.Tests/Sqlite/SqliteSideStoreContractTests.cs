using StreamIngest.Embedded.Sqlite;
using StreamIngest.Store;
using StreamIngest.Tests.Contracts;

namespace StreamIngest.Embedded.Tests.Sqlite;

/// <summary>The side-store contract against a real SQLite file per test.</summary>
public sealed class SqliteSideStoreContractTests : SideStoreContract, IDisposable
{
    private readonly List<SqliteDatabase> _databases = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("streamingest-side-").FullName;

    protected override Task<(ICursorStore Cursors, IDeadLetterStore DeadLetters, IEntityCountStore Counts)> NewStoresAsync()
    {
        var db = new SqliteDatabase(Path.Combine(_dir, $"{_databases.Count}.db"));
        _databases.Add(db);
        return Task.FromResult<(ICursorStore, IDeadLetterStore, IEntityCountStore)>(
            (new SqliteCursorStore(db, TimeProvider.System), new SqliteDeadLetterStore(db), new SqliteEntityCountStore(db)));
    }

    public void Dispose()
    {
        _databases.ForEach(d => d.Dispose());
        Directory.Delete(_dir, recursive: true);
    }
}
