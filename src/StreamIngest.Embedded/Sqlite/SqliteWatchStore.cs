using System.Text.Json;
using StreamIngest.Watches;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>Watches, their events (one per watch and post) and webhook delivery state and log, in the store's file.</summary>
public sealed class SqliteWatchStore(SqliteDatabase db) : IWatchStore
{
    public Task AddAsync(Watch watch, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO watches(id, doc, created_at) VALUES ($id, $doc, $at)";
            cmd.Parameters.AddWithValue("$id", watch.Id);
            cmd.Parameters.AddWithValue("$doc", JsonSerializer.Serialize(watch));
            cmd.Parameters.AddWithValue("$at", watch.CreatedAt.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<Watch>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT doc FROM watches ORDER BY created_at, id";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<Watch>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(JsonSerializer.Deserialize<Watch>(reader.GetString(0))!);
        }

        return list;
    }

    public async Task<Watch?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT doc FROM watches WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string doc ? JsonSerializer.Deserialize<Watch>(doc) : null;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        await db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                DELETE FROM watch_events WHERE watch_id = $id;
                DELETE FROM watch_delivery_state WHERE watch_id = $id;
                DELETE FROM watch_deliveries WHERE watch_id = $id;
                DELETE FROM watch_delivery_leases WHERE watch_id = $id;
                DELETE FROM watches WHERE id = $id;
                """;
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
            using var changes = connection.CreateCommand();
            changes.Transaction = tx;
            changes.CommandText = "SELECT changes()";
            return Convert.ToInt64(changes.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken).ConfigureAwait(false) > 0;

    public Task<int> AppendEventsAsync(IReadOnlyList<(string WatchId, string PostId, double Score)> matches, DateTimeOffset at, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT OR IGNORE INTO watch_events(watch_id, post_id, score, at) VALUES ($w, $p, $s, $at)";
            var w = cmd.Parameters.Add("$w", Microsoft.Data.Sqlite.SqliteType.Text);
            var p = cmd.Parameters.Add("$p", Microsoft.Data.Sqlite.SqliteType.Text);
            var s = cmd.Parameters.Add("$s", Microsoft.Data.Sqlite.SqliteType.Real);
            cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            var added = 0;
            foreach (var (watchId, postId, score) in matches)
            {
                w.Value = watchId;
                p.Value = postId;
                s.Value = score;
                added += cmd.ExecuteNonQuery();
            }

            return added;
        }, cancellationToken);

    public async Task<IReadOnlyList<WatchEvent>> ReadEventsAsync(string watchId, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT seq, post_id, score, at FROM watch_events WHERE watch_id = $w AND seq > $after ORDER BY seq LIMIT $n";
        cmd.Parameters.AddWithValue("$w", watchId);
        cmd.Parameters.AddWithValue("$after", after);
        cmd.Parameters.AddWithValue("$n", limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<WatchEvent>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new WatchEvent(reader.GetInt64(0), watchId, reader.GetString(1), reader.GetDouble(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        return list;
    }

    public async Task<long> GetDeliveredAsync(string watchId, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT delivered FROM watch_delivery_state WHERE watch_id = $w";
        cmd.Parameters.AddWithValue("$w", watchId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;
    }

    public Task SetDeliveredAsync(string watchId, long seq, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO watch_delivery_state(watch_id, delivered) VALUES ($w, $s) ON CONFLICT(watch_id) DO UPDATE SET delivered = MAX(delivered, excluded.delivered)";
            cmd.Parameters.AddWithValue("$w", watchId);
            cmd.Parameters.AddWithValue("$s", seq);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    public Task LogDeliveryAsync(WatchDelivery delivery, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO watch_deliveries(watch_id, seq, attempt, status, outcome, at) VALUES ($w, $s, $a, $st, $o, $at)";
            cmd.Parameters.AddWithValue("$w", delivery.WatchId);
            cmd.Parameters.AddWithValue("$s", delivery.Seq);
            cmd.Parameters.AddWithValue("$a", delivery.Attempt);
            cmd.Parameters.AddWithValue("$st", (object?)delivery.Status ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$o", delivery.Outcome);
            cmd.Parameters.AddWithValue("$at", delivery.At.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<WatchDelivery>> ListDeliveriesAsync(string watchId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT seq, attempt, status, outcome, at FROM watch_deliveries WHERE watch_id = $w ORDER BY rowid DESC LIMIT $n";
        cmd.Parameters.AddWithValue("$w", watchId);
        cmd.Parameters.AddWithValue("$n", limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<WatchDelivery>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new WatchDelivery(watchId, reader.GetInt64(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetInt32(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }

        return list;
    }

    public async Task<bool> TryLeaseDeliveryAsync(string watchId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        await db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO watch_delivery_leases(watch_id, owner, until_ms) VALUES ($w, $o, $until)
                ON CONFLICT(watch_id) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
                WHERE watch_delivery_leases.owner = excluded.owner OR watch_delivery_leases.until_ms <= $now
                """;
            cmd.Parameters.AddWithValue("$w", watchId);
            cmd.Parameters.AddWithValue("$o", owner);
            cmd.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false) > 0;
}
