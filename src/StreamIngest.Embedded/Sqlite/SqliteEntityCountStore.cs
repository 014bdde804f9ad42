using StreamIngest.Store;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>Entity counts per bucket in the SQLite file (one upsert per entity and bucket of a batch).</summary>
public sealed class SqliteEntityCountStore(SqliteDatabase db) : IEntityCountStore
{
    public Task AddAsync(IReadOnlyList<EntityCount> counts, CancellationToken cancellationToken) =>
        counts.Count == 0
            ? Task.CompletedTask
            : db.WriteAsync((connection, tx) =>
            {
                using var cmd = connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO entity_counts(entity, bucket, posts, sentiment_sum, sentiment_posts) VALUES ($e, $b, $p, $s, $n)
                    ON CONFLICT(entity, bucket) DO UPDATE SET posts = posts + excluded.posts,
                      sentiment_sum = sentiment_sum + excluded.sentiment_sum, sentiment_posts = sentiment_posts + excluded.sentiment_posts
                    """;
                var e = cmd.Parameters.Add("$e", Microsoft.Data.Sqlite.SqliteType.Text);
                var b = cmd.Parameters.Add("$b", Microsoft.Data.Sqlite.SqliteType.Integer);
                var p = cmd.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Integer);
                var s = cmd.Parameters.Add("$s", Microsoft.Data.Sqlite.SqliteType.Real);
                var n = cmd.Parameters.Add("$n", Microsoft.Data.Sqlite.SqliteType.Integer);
                foreach (var c in counts)
                {
                    (e.Value, b.Value, p.Value, s.Value, n.Value) = (c.Entity, c.Bucket.ToUnixTimeMilliseconds(), c.Posts, c.SentimentSum, c.SentimentPosts);
                    cmd.ExecuteNonQuery();
                }

                return counts.Count;
            }, cancellationToken);

    public async Task<IReadOnlyList<EntityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT entity, bucket, posts, sentiment_sum, sentiment_posts FROM entity_counts WHERE bucket >= $since";
        cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        var list = new List<EntityCount>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new EntityCount(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt64(2), reader.GetDouble(3), reader.GetInt64(4)));
        }

        return list;
    }

    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM entity_counts WHERE bucket < $cutoff";
            cmd.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken);
}
