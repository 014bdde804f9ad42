using Microsoft.Data.Sqlite;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Tests;

namespace StreamIngest.Embedded.Tests.Sqlite;

public class SqliteDatabaseTests
{
    private static (long CacheSize, long BusyTimeout, long MmapSize, long Synchronous) Settings(SqliteConnection connection)
    {
        long Read(string pragma)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"PRAGMA {pragma};";
            return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return (Read("cache_size"), Read("busy_timeout"), Read("mmap_size"), Read("synchronous"));
    }

    [Fact]
    public void Open_EveryConnection_NewOrFromThePool_HasTheFilesSettings()
    {
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "settings.db"));
        var expected = (-32768L, 10_000L, 268_435_456L, 1L); // synchronous NORMAL = 1

        // Three at once: three underlying connections, each set up when first opened.
        var open = Enumerable.Range(0, 3).Select(_ => db.Open()).ToList();
        Assert.Equal(3, open.Select(c => c.Handle).Distinct().Count());
        Assert.All(open, c => Assert.Equal(expected, Settings(c)));
        open.ForEach(c => c.Dispose());

        // Back from the pool: the same underlying connections, still set up, without setting them again.
        for (var i = 0; i < 5; i++)
        {
            using var again = db.Open();
            Assert.Equal(expected, Settings(again));
        }
    }
}
