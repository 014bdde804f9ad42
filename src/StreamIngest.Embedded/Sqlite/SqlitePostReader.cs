using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>Posts by entity and time from the embedded store (the entity index, then the documents).</summary>
public sealed class SqlitePostReader(SqliteDatabase db) : IPostReader
{
    public Task<IReadOnlyList<Post>> ListRecentAsync(DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT d.doc FROM posts p JOIN post_docs d ON d.rowid = p.rowid
            WHERE p.created_at BETWEEN $since AND $until
            ORDER BY p.created_at DESC
            LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult(Read(cmd));
    }

    private static IReadOnlyList<Post> Read(Microsoft.Data.Sqlite.SqliteCommand cmd)
    {
        var posts = new List<Post>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            posts.Add(reader.ReadPost(0));
        }

        return posts;
    }

    public Task<IReadOnlyList<Post>> ListByEntityAsync(EntityFilter entity, DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT d.doc FROM post_entities e
            JOIN posts p ON p.rowid = e.post_rowid
            JOIN post_docs d ON d.rowid = p.rowid
            WHERE e.kind = $kind AND e.value = $value AND p.created_at BETWEEN $since AND $until
            ORDER BY p.created_at DESC
            LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$kind", (int)entity.Kind);
        cmd.Parameters.AddWithValue("$value", entity.Value);
        cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$limit", limit);
        return Task.FromResult(Read(cmd));
    }
}
