using StreamIngest.Store;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>API keys (hashes, scopes, limits) in the embedded store's file, so they survive restarts.</summary>
public sealed class SqliteApiKeyStore(SqliteDatabase db) : IApiKeyStore
{
    public Task AddAsync(ApiKeyRecord key, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO api_keys(id, name, sha256, scopes, requests_per_minute, created_at, revoked_at)
                VALUES ($id, $name, $sha, $scopes, $rpm, $created, NULL)
                """;
            cmd.Parameters.AddWithValue("$id", key.Id);
            cmd.Parameters.AddWithValue("$name", key.Name);
            cmd.Parameters.AddWithValue("$sha", key.Sha256);
            cmd.Parameters.AddWithValue("$scopes", string.Join(' ', key.Scopes));
            cmd.Parameters.AddWithValue("$rpm", key.RequestsPerMinute);
            cmd.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT id, name, sha256, scopes, requests_per_minute, created_at, revoked_at FROM api_keys ORDER BY created_at";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new ApiKeyRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries), reader.GetInt32(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }

        return keys;
    }

    public async Task<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        await db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false) == 1;
}
