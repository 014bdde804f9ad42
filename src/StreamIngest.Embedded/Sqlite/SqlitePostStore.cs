using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using StreamIngest.Embed;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// Posts in SQLite: one row per id (upsert keeps the row), entities in their own table for filters,
/// FTS5 kept in step by triggers, the fp32 embedding as a blob, and the in-memory int8 vector index (and keyword
/// index, when given) updated after each committed write so a post is searchable the moment the call returns.
/// </summary>
public sealed class SqlitePostStore(SqliteDatabase db, Int8VectorIndex index, KeywordIndex? keywords = null) : IPostStore
{
    private const int PurgeChunk = 2000;

    private const string EmbeddingModelKey = "embedding_model";

    /// <summary>
    /// Builds the vector index from the embeddings already in the file (at start). The file records which model
    /// made its vectors; when <paramref name="embedder"/> is another model, every stored post is embedded again
    /// first (vectors of two models cannot be compared), so a model switch never mixes them.
    /// </summary>
    public static async Task<Int8VectorIndex> LoadIndexAsync(SqliteDatabase db, IEmbedder embedder, CancellationToken cancellationToken = default) =>
        await LoadIndexAsync(db, embedder, new Int8VectorIndex(embedder.Dimensions), cancellationToken).ConfigureAwait(false);

    /// <summary>As above, into <paramref name="index"/> (empty, with its search settings).</summary>
    public static async Task<Int8VectorIndex> LoadIndexAsync(SqliteDatabase db, IEmbedder embedder, Int8VectorIndex index, CancellationToken cancellationToken = default)
    {
        string recorded;
        using (var connection = db.Open())
        {
            // Files written before the model was recorded were all made by MiniLM, the only model then.
            recorded = ReadMeta(connection, EmbeddingModelKey) ?? (HasPosts(connection) ? "sentence-transformers/all-MiniLM-L6-v2" : embedder.Model);
        }

        if (!string.Equals(recorded, embedder.Model, StringComparison.Ordinal))
        {
            await ReEmbedAsync(db, embedder, cancellationToken).ConfigureAwait(false);
        }

        await WriteMetaAsync(db, EmbeddingModelKey, embedder.Model, cancellationToken).ConfigureAwait(false);
        return LoadIndex(db, index);
    }

    /// <summary>Posts embedded again after a model change, in batches, each batch one write.</summary>
    public static async Task<int> ReEmbedAsync(SqliteDatabase db, IEmbedder embedder, CancellationToken cancellationToken)
    {
        const int batch = 256;
        var done = 0;
        long after = 0;
        while (true)
        {
            var rows = new List<(long RowId, string Text)>(batch);
            using (var connection = db.Open())
            using (var select = connection.CreateCommand())
            {
                // Only posts that had a vector: duplicates stored without one stay without one.
                select.CommandText = "SELECT p.rowid, p.text FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE p.rowid > $after AND d.embedding IS NOT NULL ORDER BY p.rowid LIMIT $n";
                select.Parameters.AddWithValue("$after", after);
                select.Parameters.AddWithValue("$n", batch);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetInt64(0), reader.GetString(1)));
                }
            }

            if (rows.Count == 0)
            {
                return done;
            }

            var vectors = await embedder.EmbedAsync([.. rows.Select(r => r.Text)], cancellationToken).ConfigureAwait(false);
            await db.WriteAsync((connection, tx) =>
            {
                using var update = connection.CreateCommand();
                update.Transaction = tx;
                update.CommandText = "UPDATE post_docs SET embedding = $e WHERE rowid = $r";
                var e = update.Parameters.Add("$e", SqliteType.Blob);
                var r = update.Parameters.Add("$r", SqliteType.Integer);
                for (var i = 0; i < rows.Count; i++)
                {
                    e.Value = MemoryMarshal.AsBytes(vectors[i].AsSpan()).ToArray();
                    r.Value = rows[i].RowId;
                    update.ExecuteNonQuery();
                }

                return 0;
            }, cancellationToken).ConfigureAwait(false);
            done += rows.Count;
            after = rows[^1].RowId;
        }
    }

    private static bool HasPosts(SqliteConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT EXISTS (SELECT 1 FROM posts)";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    private static string? ReadMeta(SqliteConnection connection, string key)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT value FROM meta WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() as string;
    }

    private static Task<int> WriteMetaAsync(SqliteDatabase db, string key, string value, CancellationToken cancellationToken) =>
        db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO meta(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$v", value);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    /// <summary>Builds the vector index from the embeddings already in the file, whatever model made them.</summary>
    public static Int8VectorIndex LoadIndex(SqliteDatabase db, int dims) => LoadIndex(db, new Int8VectorIndex(dims));

    /// <summary>Fills <paramref name="index"/> (empty, with its own search settings) from the embeddings in the file.</summary>
    public static Int8VectorIndex LoadIndex(SqliteDatabase db, Int8VectorIndex index)
    {
        var dims = index.Dimensions;
        using var connection = db.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT p.rowid, p.id, p.created_at, p.source, p.lang, d.embedding, p.engagement, COALESCE(json_extract(d.doc, '$.cluster_id'), p.content_hash)
            FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE d.embedding IS NOT NULL ORDER BY p.rowid
            """;
        using var reader = cmd.ExecuteReader();
        var buffer = new byte[dims * sizeof(float)];
        while (reader.Read())
        {
            var length = reader.GetBytes(5, 0, null, 0, 0);
            if (length != buffer.Length)
            {
                continue; // written by a model with other dimensions; re-embedded when re-delivered
            }

            reader.GetBytes(5, 0, buffer, 0, buffer.Length);
            index.Upsert(
                reader.GetString(1), reader.GetInt64(0), reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), MemoryMarshal.Cast<byte, float>(buffer),
                reader.GetInt64(6), reader.IsDBNull(7) ? null : reader.GetString(7));
        }

        return index;
    }

    /// <summary>Builds the keyword index from the posts' text in the file (at start); SQLite stays the record it is rebuilt from.</summary>
    public static KeywordIndex LoadKeywordIndex(SqliteDatabase db) => LoadKeywordIndex(db, new KeywordIndex());

    /// <summary>As above, into <paramref name="keywords"/> (empty).</summary>
    public static KeywordIndex LoadKeywordIndex(SqliteDatabase db, KeywordIndex keywords)
    {
        using var connection = db.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT rowid, id, created_at, source, lang, text FROM posts ORDER BY rowid";
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            keywords.Upsert(reader.GetString(1), reader.GetInt64(0), reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5));
        }

        return keywords;
    }

    public async Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
    {
        if (posts.Count == 0)
        {
            return;
        }

        var previous = new string?[posts.Count];
        var rowIds = await db.WriteAsync((connection, tx) =>
        {
            using var upsert = connection.CreateCommand();
            upsert.Transaction = tx;
            upsert.CommandText = """
                INSERT INTO posts(id, source, created_at, received_at, lang, author, text, content_hash, duplicate_of, engagement)
                VALUES ($id, $source, $created, $received, $lang, $author, $text, $hash, $dup, $engagement)
                ON CONFLICT(id) DO UPDATE SET
                  created_at = excluded.created_at,
                  received_at = MIN(received_at, excluded.received_at),
                  lang = excluded.lang, author = excluded.author, text = excluded.text,
                  content_hash = excluded.content_hash, duplicate_of = excluded.duplicate_of,
                  engagement = excluded.engagement
                RETURNING rowid
                """;
            var pId = upsert.Parameters.Add("$id", SqliteType.Text);
            var pSource = upsert.Parameters.Add("$source", SqliteType.Text);
            var pCreated = upsert.Parameters.Add("$created", SqliteType.Integer);
            var pReceived = upsert.Parameters.Add("$received", SqliteType.Integer);
            var pLang = upsert.Parameters.Add("$lang", SqliteType.Text);
            var pAuthor = upsert.Parameters.Add("$author", SqliteType.Text);
            var pText = upsert.Parameters.Add("$text", SqliteType.Text);
            var pHash = upsert.Parameters.Add("$hash", SqliteType.Text);
            var pDup = upsert.Parameters.Add("$dup", SqliteType.Text);
            var pEngagement = upsert.Parameters.Add("$engagement", SqliteType.Integer);

            using var upsertDoc = connection.CreateCommand();
            upsertDoc.Transaction = tx;
            upsertDoc.CommandText = """
                INSERT INTO post_docs(rowid, doc, embedding) VALUES ($row, $doc, $embedding)
                ON CONFLICT(rowid) DO UPDATE SET doc = excluded.doc, embedding = COALESCE(excluded.embedding, embedding)
                """;
            var pDocRow = upsertDoc.Parameters.Add("$row", SqliteType.Integer);
            var pDoc = upsertDoc.Parameters.Add("$doc", SqliteType.Text);
            var pEmbedding = upsertDoc.Parameters.Add("$embedding", SqliteType.Blob);

            using var clearEntities = connection.CreateCommand();
            clearEntities.Transaction = tx;
            clearEntities.CommandText = "DELETE FROM post_entities WHERE post_rowid = $row";
            var pClearRow = clearEntities.Parameters.Add("$row", SqliteType.Integer);

            using var addEntity = connection.CreateCommand();
            addEntity.Transaction = tx;
            addEntity.CommandText = "INSERT OR IGNORE INTO post_entities(kind, value, post_rowid) VALUES ($kind, $value, $row)";
            var pKind = addEntity.Parameters.Add("$kind", SqliteType.Integer);
            var pValue = addEntity.Parameters.Add("$value", SqliteType.Text);
            var pRow = addEntity.Parameters.Add("$row", SqliteType.Integer);

            // The text a post held before, for the keyword index to forget its words exactly when the text changes.
            using var previousText = connection.CreateCommand();
            previousText.Transaction = tx;
            previousText.CommandText = "SELECT text FROM posts WHERE id = $id";
            var pPreviousId = previousText.Parameters.Add("$id", SqliteType.Text);

            var ids = new long[posts.Count];
            for (var i = 0; i < posts.Count; i++)
            {
                var p = posts[i];
                if (keywords?.Contains(p.Id) == true)
                {
                    pPreviousId.Value = p.Id;
                    previous[i] = previousText.ExecuteScalar() as string;
                }

                pId.Value = p.Id;
                pSource.Value = p.Source;
                pCreated.Value = p.CreatedAt.ToUnixTimeMilliseconds();
                pReceived.Value = p.ReceivedAt.ToUnixTimeMilliseconds();
                pLang.Value = (object?)p.Lang ?? DBNull.Value;
                pAuthor.Value = p.Author.Handle;
                pText.Value = p.Text;
                pHash.Value = (object?)p.ContentHash ?? DBNull.Value;
                pDup.Value = (object?)p.DuplicateOf ?? DBNull.Value;
                pEngagement.Value = p.Metrics?.Total ?? 0;
                var rowId = (long)upsert.ExecuteScalar()!;
                ids[i] = rowId;
                pDocRow.Value = rowId;
                pDoc.Value = PostJson.Serialize(p);
                pEmbedding.Value = p.Embedding is { } e ? MemoryMarshal.AsBytes(e.AsSpan()).ToArray() : DBNull.Value;
                upsertDoc.ExecuteNonQuery();

                pClearRow.Value = rowId;
                clearEntities.ExecuteNonQuery();
                pRow.Value = rowId;
                AddEntities(addEntity, pKind, pValue, EntityKind.Hashtag, p.Entities.Hashtags);
                AddEntities(addEntity, pKind, pValue, EntityKind.Cashtag, p.Entities.Cashtags);
                AddEntities(addEntity, pKind, pValue, EntityKind.Mention, p.Entities.Mentions);
            }

            return ids;
        }, cancellationToken).ConfigureAwait(false);

        // Committed: make the posts findable in memory too.
        for (var i = 0; i < posts.Count; i++)
        {
            var p = posts[i];
            if (p.Embedding is { } e && e.Length == index.Dimensions)
            {
                index.Upsert(p.Id, rowIds[i], p.CreatedAt.ToUnixTimeMilliseconds(), p.Source, p.Lang, e, p.Metrics?.Total ?? 0, p.ClusterId ?? p.ContentHash);
            }

            keywords?.Upsert(p.Id, rowIds[i], p.CreatedAt.ToUnixTimeMilliseconds(), p.Source, p.Lang, p.Text, previous[i]);
        }
    }

    public async Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var deleted = await db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM posts WHERE id = $id RETURNING text, lang";
            var pId = cmd.Parameters.Add("$id", SqliteType.Text);
            var removed = new List<(string, string, string?)>();
            foreach (var id in ids)
            {
                pId.Value = id;
                using var reader = cmd.ExecuteReader();
                if (reader.Read())
                {
                    removed.Add((id, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
                }
            }

            return removed;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var id in ids)
        {
            index.Remove(id);
        }

        foreach (var (id, text, lang) in deleted)
        {
            keywords?.Remove(id, text, lang);
        }

        return deleted.Count;
    }

    public async Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken)
    {
        var updated = await db.WriteAsync((connection, tx) =>
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                UPDATE post_docs SET doc = json_set(doc,
                  '$.metrics.likes', COALESCE(json_extract(doc, '$.metrics.likes'), 0) + $likes,
                  '$.metrics.reposts', COALESCE(json_extract(doc, '$.metrics.reposts'), 0) + $reposts,
                  '$.metrics.replies', COALESCE(json_extract(doc, '$.metrics.replies'), 0) + $replies,
                  '$.metrics.quotes', COALESCE(json_extract(doc, '$.metrics.quotes'), 0) + $quotes)
                WHERE rowid = (SELECT rowid FROM posts WHERE id = $id);
                UPDATE posts SET engagement = engagement + $likes + $reposts + $replies + $quotes WHERE id = $id;
                """;
            var pId = cmd.Parameters.Add("$id", SqliteType.Text);
            var pLikes = cmd.Parameters.Add("$likes", SqliteType.Integer);
            var pReposts = cmd.Parameters.Add("$reposts", SqliteType.Integer);
            var pReplies = cmd.Parameters.Add("$replies", SqliteType.Integer);
            var pQuotes = cmd.Parameters.Add("$quotes", SqliteType.Integer);
            var updated = 0;
            foreach (var (id, d) in deltas)
            {
                pId.Value = id;
                pLikes.Value = d.Likes;
                pReposts.Value = d.Reposts;
                pReplies.Value = d.Replies;
                pQuotes.Value = d.Quotes;
                updated += cmd.ExecuteNonQuery() > 0 ? 1 : 0;
            }

            return updated;
        }, cancellationToken).ConfigureAwait(false);

        // Committed: the in-memory index ranks candidates by engagement before reading them.
        foreach (var (id, d) in deltas)
        {
            index.AddEngagement(id, d.Total);
        }

        return updated;
    }

    public async Task<IReadOnlyList<Post>> ListUnembeddedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT d.doc FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE d.embedding IS NULL AND p.duplicate_of IS NULL ORDER BY p.rowid LIMIT $n";
        cmd.Parameters.AddWithValue("$n", limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var posts = new List<Post>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            posts.Add(reader.ReadPost(0));
        }

        return posts;
    }

    public async Task<Post?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT d.doc, d.embedding FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE p.id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var post = reader.ReadPost(0);
        if (!reader.IsDBNull(1))
        {
            post.Embedding = MemoryMarshal.Cast<byte, float>((byte[])reader[1]).ToArray();
        }

        return post;
    }

    public async Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(
        IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (string, float[])>(StringComparer.Ordinal);
        if (contentHashes.Count == 0)
        {
            return found;
        }

        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        // The first post stored with a hash is the original the others collapse into.
        cmd.CommandText = $"""
            SELECT p.content_hash, p.id, d.embedding FROM posts p JOIN post_docs d ON d.rowid = p.rowid
            WHERE p.rowid IN (
              SELECT MIN(p2.rowid) FROM posts p2 JOIN post_docs d2 ON d2.rowid = p2.rowid
              WHERE p2.content_hash IN ({SqlList.Parameters(cmd, contentHashes)}) AND d2.embedding IS NOT NULL GROUP BY p2.content_hash)
            """;
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found[reader.GetString(0)] = (reader.GetString(1), MemoryMarshal.Cast<byte, float>((byte[])reader[2]).ToArray());
        }

        return found;
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = db.Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM posts";
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            // Small chunks keep the write lock short so ingest never stalls behind a purge.
            var ids = await db.WriteAsync((connection, tx) =>
            {
                using var cmd = connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "DELETE FROM posts WHERE rowid IN (SELECT rowid FROM posts WHERE created_at < $cutoff LIMIT $n) RETURNING id, text, lang";
                cmd.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$n", PurgeChunk);
                using var reader = cmd.ExecuteReader();
                var list = new List<(string, string, string?)>();
                while (reader.Read())
                {
                    list.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
                }

                return list;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var (id, text, lang) in ids)
            {
                index.Remove(id);
                keywords?.Remove(id, text, lang); // with its text, so the words' document counts stay exact
            }

            total += ids.Count;
            if (ids.Count < PurgeChunk)
            {
                return total;
            }
        }
    }

    private static void AddEntities(SqliteCommand cmd, SqliteParameter kind, SqliteParameter value, EntityKind entityKind, IReadOnlyList<string> values)
    {
        kind.Value = (int)entityKind;
        foreach (var v in values)
        {
            value.Value = v;
            cmd.ExecuteNonQuery();
        }
    }
}
