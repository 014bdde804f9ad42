using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Store;
using StreamIngest.Tests;
using StreamIngest.Tests.Contracts;

namespace StreamIngest.Embedded.Tests.Sqlite;

/// <summary>The store contract on a real SQLite file per test.</summary>
public sealed class SqlitePostStoreContractTests : PostStoreContract, IDisposable
{
    private readonly List<SqliteDatabase> _databases = [];

    protected override Task<IPostStore> NewStoreAsync()
    {
        var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "contract.db"));
        _databases.Add(db);
        return Task.FromResult<IPostStore>(new SqlitePostStore(db, new Int8VectorIndex(Dimensions)));
    }

    public void Dispose() => _databases.ForEach(d => d.Dispose());
}
