using Microsoft.Data.Sqlite;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// The SQLite file: schema, connection settings (WAL, NORMAL sync) and the single-writer lock shared by
/// the stores that live in it. Readers open their own pooled connections and never block the writer.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    private const int SchemaVersion = 2;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SqliteConnection _writer;

    /// <summary>The underlying (pooled) connections whose settings are applied.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> _configured = new();

    public SqliteDatabase(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        FilePath = path;
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _writer = Open();
        Execute(_writer, "PRAGMA journal_mode=WAL;");
        CreateSchema(path);
    }

    public string FilePath { get; }

    public string ConnectionString { get; }

    /// <summary>
    /// A reader's connection with this file's settings. Connections are pooled and keep their settings, so the
    /// settings are applied once per underlying connection, not on every open (a search opens one or two).
    /// </summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        if (!_configured.TryGetValue(connection.Handle!, out _))
        {
            Execute(connection, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;");
            _configured.AddOrUpdate(connection.Handle!, this);
        }

        return connection;
    }

    /// <summary>Runs <paramref name="work"/> on the one writer connection inside a transaction.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _writer.BeginTransaction();
            var result = work(_writer, tx);
            tx.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private void CreateSchema(string path)
    {
        using var tx = _writer.BeginTransaction();
        Execute(_writer, """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS posts(
              rowid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE,
              source TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              received_at INTEGER NOT NULL,
              lang TEXT,
              author TEXT NOT NULL,
              text TEXT NOT NULL,
              content_hash TEXT,
              duplicate_of TEXT,
              engagement INTEGER NOT NULL DEFAULT 0);
            -- The document and the vector live apart from the row that keyword search joins on, so a
            -- BM25 query that checks created_at for many matches reads small rows, many to a page.
            CREATE TABLE IF NOT EXISTS post_docs(
              rowid INTEGER PRIMARY KEY,
              doc TEXT NOT NULL,
              embedding BLOB);
            CREATE INDEX IF NOT EXISTS posts_created ON posts(created_at);
            CREATE INDEX IF NOT EXISTS posts_hash ON posts(content_hash);
            CREATE TABLE IF NOT EXISTS post_entities(
              kind INTEGER NOT NULL,
              value TEXT NOT NULL,
              post_rowid INTEGER NOT NULL,
              PRIMARY KEY(kind, value, post_rowid)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS post_entities_row ON post_entities(post_rowid);
            CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(
              text, content='posts', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
            CREATE TRIGGER IF NOT EXISTS posts_ai AFTER INSERT ON posts BEGIN
              INSERT INTO posts_fts(rowid, text) VALUES (new.rowid, new.text);
            END;
            CREATE TRIGGER IF NOT EXISTS posts_ad AFTER DELETE ON posts BEGIN
              INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
              DELETE FROM post_entities WHERE post_rowid = old.rowid;
              DELETE FROM post_docs WHERE rowid = old.rowid;
            END;
            CREATE TRIGGER IF NOT EXISTS posts_au AFTER UPDATE OF text ON posts BEGIN
              INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
              INSERT INTO posts_fts(rowid, text) VALUES (new.rowid, new.text);
            END;
            CREATE TABLE IF NOT EXISTS dead_letters(
              seq INTEGER PRIMARY KEY,
              at INTEGER NOT NULL,
              source TEXT NOT NULL,
              reason TEXT NOT NULL,
              location TEXT,
              raw TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS cursors(
              source TEXT PRIMARY KEY,
              cursor TEXT NOT NULL,
              updated_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS entity_counts(
              entity TEXT NOT NULL,
              bucket INTEGER NOT NULL,
              posts INTEGER NOT NULL,
              sentiment_sum REAL NOT NULL,
              sentiment_posts INTEGER NOT NULL,
              PRIMARY KEY(entity, bucket)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS entity_counts_bucket ON entity_counts(bucket);
            CREATE TABLE IF NOT EXISTS api_keys(
              id TEXT PRIMARY KEY,
              name TEXT NOT NULL,
              sha256 TEXT NOT NULL UNIQUE,
              scopes TEXT NOT NULL,
              requests_per_minute INTEGER NOT NULL,
              created_at INTEGER NOT NULL,
              revoked_at INTEGER);
            CREATE TABLE IF NOT EXISTS watches(id TEXT PRIMARY KEY, doc TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS watch_events(
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              watch_id TEXT NOT NULL,
              post_id TEXT NOT NULL,
              score REAL NOT NULL,
              at INTEGER NOT NULL,
              UNIQUE(watch_id, post_id));
            CREATE TABLE IF NOT EXISTS watch_delivery_state(watch_id TEXT PRIMARY KEY, delivered INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS watch_delivery_leases(watch_id TEXT PRIMARY KEY, owner TEXT NOT NULL, until_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS watch_deliveries(
              watch_id TEXT NOT NULL,
              seq INTEGER NOT NULL,
              attempt INTEGER NOT NULL,
              status INTEGER,
              outcome TEXT NOT NULL,
              at INTEGER NOT NULL);
            """, tx);
        Execute(_writer, $"INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SchemaVersion}');", tx);
        using (var cmd = _writer.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT value FROM meta WHERE key = 'schema_version'";
            var found = cmd.ExecuteScalar() as string;
            if (found != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException(
                    $"The store at '{path}' has schema version {found}; this build uses {SchemaVersion}. The embedded store is rebuilt from the feeds: delete the file or set Store:DataPath to a new folder.");
            }
        }

        tx.Commit();
    }

    public void Dispose()
    {
        _writer.Dispose();
        _writeLock.Dispose();
    }
}
