using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Enrich;
using StreamIngest.Model;
using StreamIngest.Tests;

namespace StreamIngest.Embedded.Tests.Sqlite;

/// <summary>Each test gets its own SQLite file in its own folder.</summary>
public abstract class StoreTestBase : IDisposable
{
    protected static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    protected StoreTestBase()
    {
        Path = System.IO.Path.Combine(TestPaths.NewTempDir(), "test.db");
        Db = new SqliteDatabase(Path);
        Index = new Int8VectorIndex(Dims);
        Store = new SqlitePostStore(Db, Index);
    }

    protected virtual int Dims => 4;

    protected string Path { get; }

    protected SqliteDatabase Db { get; private set; }

    protected Int8VectorIndex Index { get; private set; }

    protected SqlitePostStore Store { get; private set; }

    /// <summary>Closes the file and opens it again, as a restarted host does.</summary>
    protected void Reopen()
    {
        Db.Dispose();
        Db = new SqliteDatabase(Path);
        Index = SqlitePostStore.LoadIndex(Db, Dims);
        Store = new SqlitePostStore(Db, Index);
    }

    protected static Post NewPost(string id, string text, float[]? embedding = null, TimeSpan? age = null, string source = "test", string? lang = "en")
    {
        var post = new Post
        {
            Id = Post.MakeId(source, id),
            Source = source,
            NativeId = id,
            CreatedAt = Now - (age ?? TimeSpan.Zero),
            ReceivedAt = Now,
            Text = text,
            Lang = lang,
            Author = new Author("author_" + id),
            Provenance = new Provenance("test", "memory", Now, "00"),
            Embedding = embedding,
        };
        new StandardEnricher().Enrich(post);
        return post;
    }

    public void Dispose()
    {
        Db.Dispose();
        GC.SuppressFinalize(this);
    }
}
