using Microsoft.Data.Sqlite;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>Dead letters in the same SQLite file, newest first when listed.</summary>
public sealed class SqliteDeadLetterStore(SqliteDatabase db) : IDeadLetterStore
{
    public Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO dead_letters(at, source, reason, location, raw) VALUES ($at, $source, $reason, $location, $raw)";
            cmd.Parameters.AddWithValue("$at", deadLetter.At.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$source", deadLetter.Source);
            cmd.Parameters.AddWithValue("$reason", deadLetter.Reason);
            cmd.Parameters.AddWithValue("$location", (object?)deadLetter.Location ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$raw", deadLetter.Raw);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT at, source, reason, location, raw FROM dead_letters ORDER BY seq DESC LIMIT $n";
        cmd.Parameters.AddWithValue("$n", limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new DeadLetter(
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(4),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0))));
        }

        return list;
    }
}

/// <summary>Per-source resume positions, in the same file (and so the same durability) as the posts.</summary>
public sealed class SqliteCursorStore(SqliteDatabase db, TimeProvider timeProvider) : ICursorStore
{
    public async Task<string?> GetAsync(string source, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT cursor FROM cursors WHERE source = $source";
        cmd.Parameters.AddWithValue("$source", source);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public Task SetAsync(string source, string cursor, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO cursors(source, cursor, updated_at) VALUES ($source, $cursor, $at)
                ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                """;
            cmd.Parameters.AddWithValue("$source", source);
            cmd.Parameters.AddWithValue("$cursor", cursor);
            cmd.Parameters.AddWithValue("$at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken);
}
