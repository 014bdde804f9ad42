using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using StreamIngest.Embed;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// Hybrid retrieval over the embedded store: the int8 vector scan re-ranked in fp32, BM25 over the words (the
/// in-memory <see cref="KeywordIndex"/> when given, else FTS5 in the file; the same scores), both filtered the same
/// way, fused and recency-weighted by <see cref="HybridRanker"/>.
/// </summary>
public sealed class SqliteRetriever(SqliteDatabase db, Int8VectorIndex index, IEmbedder embedder, HybridRanker ranker, KeywordIndex? keywords = null) : IRetriever
{
    /// <summary>Run the keyword and vector lists of a hybrid query at the same time (each on its own connection).</summary>
    public bool ConcurrentLists { get; init; } = true;

    /// <summary>Candidates taken from each list before fusion (at least; more for large k).</summary>
    public const int MinCandidates = 40;

    /// <summary>How many more candidates a query with signal filters takes from each list.</summary>
    public const int FilteredCandidateFactor = 5;

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var n = Math.Max(MinCandidates, query.K * (query.CollapseDuplicates ? 4 : 2));
        if (!query.Filter.IsEmpty)
        {
            n *= FilteredCandidateFactor; // signal filters apply to candidates: take more of them
        }

        var since = query.Since?.ToUnixTimeMilliseconds() ?? long.MinValue + 1;
        var until = query.Until?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        await using var connection = db.Open();

        Task<IReadOnlyList<Candidate>> vectorTask = Task.FromResult<IReadOnlyList<Candidate>>([]);
        float[]? q = null;
        if (query.Mode != SearchMode.Keyword)
        {
            q = await embedder.EmbedQueryAsync(query.Text, cancellationToken).ConfigureAwait(false);
            vectorTask = query.Mode == SearchMode.Hybrid && ConcurrentLists
                ? Task.Run(() =>
                {
                    using var own = db.Open();
                    return VectorCandidates(own, q!, n, since, until, query);
                }, cancellationToken)
                : Task.FromResult(VectorCandidates(connection, q, n, since, until, query));
        }

        IReadOnlyList<Candidate> keyword = [];
        if (query.Mode != SearchMode.Vector)
        {
            keyword = keywords is null ? KeywordCandidates(connection, query, n, since, until) : KeywordCandidates(keywords, connection, query, n, since, until);
        }

        var vector = await vectorTask.ConfigureAwait(false);

        var ids = vector.Select(c => c.Id).Concat(keyword.Select(c => c.Id)).Distinct(StringComparer.Ordinal).ToArray();
        // Vector candidates already carry their exact fp32 cosine (VectorCandidates re-ranked them); only the
        // keyword-only candidates need their vectors read to be scored the same way.
        var similarity = q is null ? null : vector.ToDictionary(c => c.Id, c => c.Score, StringComparer.Ordinal);
        var posts = LoadPosts(connection, ids, q, similarity);
        if (!query.Filter.IsEmpty)
        {
            posts = posts.Where(kv => query.Filter.Accepts(kv.Value)).ToDictionary(StringComparer.Ordinal);
            vector = [.. vector.Where(c => posts.ContainsKey(c.Id))];
            keyword = [.. keyword.Where(c => posts.ContainsKey(c.Id))];
        }

        var hits = ranker.Rank(vector, keyword, posts, query.K, query.CollapseDuplicates, similarity);
        return new SearchResult(hits, ids.Length, query.Mode);
    }

    /// <summary>The raw vector search alone (approximate int8 scan + fp32 re-rank), for the benchmark and tests.</summary>
    public IReadOnlyList<Candidate> VectorSearch(ReadOnlySpan<float> queryVector, int n, SearchQuery filter)
    {
        using var connection = db.Open();
        return VectorCandidates(connection, queryVector.ToArray(), n,
            filter.Since?.ToUnixTimeMilliseconds() ?? long.MinValue + 1, filter.Until?.ToUnixTimeMilliseconds() ?? long.MaxValue, filter);
    }

    private IReadOnlyList<Candidate> VectorCandidates(SqliteConnection connection, float[] q, int n, long since, long until, SearchQuery query)
    {
        var filter = RowFilter(connection, query, since, until, index.CodeOf);
        // int8 finds a pool at least MinCandidates deep; fp32 re-ranks the pool and the best n are kept.
        var approx = index.Search(q, Math.Max(n, MinCandidates), filter);
        if (approx.Count == 0)
        {
            return [];
        }

        // Re-rank the int8 candidates with the exact fp32 vectors.
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT p.id, d.embedding FROM post_docs d JOIN posts p ON p.rowid = d.rowid WHERE d.rowid IN ({SqlList.Parameters(cmd, approx.Select(a => (object)a.RowId))})";
        using var reader = cmd.ExecuteReader();
        var exact = new List<Candidate>(approx.Count);
        while (reader.Read())
        {
            var v = MemoryMarshal.Cast<byte, float>((byte[])reader[1]);
            if (v.Length == q.Length)
            {
                exact.Add(new Candidate(reader.GetString(0), TensorPrimitives.Dot(q, v)));
            }
        }

        exact.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        return exact.Count > n ? exact[..n] : exact;
    }

    /// <summary>The query's window, source, language and entity as an in-memory index filters rows (codes from that index).</summary>
    private static VectorFilter RowFilter(SqliteConnection connection, SearchQuery query, long since, long until, Func<string?, short> codeOf) => new(
        since,
        until,
        query.Source is null ? (short)-1 : codeOf(query.Source),
        query.Lang is null ? (short)-1 : codeOf(query.Lang),
        query.Entity is null ? null : EntityRows(connection, query.Entity));

    private static HashSet<long> EntityRows(SqliteConnection connection, EntityFilter entity)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT post_rowid FROM post_entities WHERE kind = $kind AND value = $value";
        cmd.Parameters.AddWithValue("$kind", (int)entity.Kind);
        cmd.Parameters.AddWithValue("$value", entity.Value);
        using var reader = cmd.ExecuteReader();
        var rows = new HashSet<long>();
        while (reader.Read())
        {
            rows.Add(reader.GetInt64(0));
        }

        return rows;
    }

    /// <summary>The keyword list from the in-memory index: the same words, filters and BM25 as the FTS5 query below.</summary>
    private static List<Candidate> KeywordCandidates(KeywordIndex keywords, SqliteConnection connection, SearchQuery query, int n, long since, long until)
    {
        var terms = FtsQuery.Terms(query.Text);
        if (terms.Count == 0)
        {
            return [];
        }

        return [.. keywords.Search(terms, n, RowFilter(connection, query, since, until, keywords.CodeOf)).Select(h => new Candidate(h.Key, h.Score))];
    }

    private static List<Candidate> KeywordCandidates(SqliteConnection connection, SearchQuery query, int n, long since, long until)
    {
        var match = FtsQuery.Build(query.Text);
        if (match is null)
        {
            return [];
        }

        var sql = new StringBuilder("""
            SELECT p.id, bm25(posts_fts) AS score FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid
            WHERE posts_fts MATCH $match AND p.created_at BETWEEN $since AND $until
            """);
        using var cmd = connection.CreateCommand();
        cmd.Parameters.AddWithValue("$match", match);
        cmd.Parameters.AddWithValue("$since", since);
        cmd.Parameters.AddWithValue("$until", until);
        if (query.Source is not null)
        {
            sql.Append(" AND p.source = $source");
            cmd.Parameters.AddWithValue("$source", query.Source);
        }

        if (query.Lang is not null)
        {
            sql.Append(" AND p.lang = $lang");
            cmd.Parameters.AddWithValue("$lang", query.Lang);
        }

        if (query.Entity is not null)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM post_entities e WHERE e.kind = $kind AND e.value = $value AND e.post_rowid = p.rowid)");
            cmd.Parameters.AddWithValue("$kind", (int)query.Entity.Kind);
            cmd.Parameters.AddWithValue("$value", query.Entity.Value);
        }

        sql.Append(" ORDER BY score LIMIT $n");
        cmd.Parameters.AddWithValue("$n", n);
        cmd.CommandText = sql.ToString();
        using var reader = cmd.ExecuteReader();
        var list = new List<Candidate>(n);
        while (reader.Read())
        {
            // SQLite's bm25() is negative, lower is better; report it as a positive relevance.
            list.Add(new Candidate(reader.GetString(0), -reader.GetDouble(1)));
        }

        return list;
    }

    /// <summary>
    /// The candidates' documents; with a query vector <paramref name="q"/>, each candidate not yet in
    /// <paramref name="similarity"/> gets its exact fp32 cosine there (its stored vector is only read for that).
    /// </summary>
    private static Dictionary<string, Post> LoadPosts(SqliteConnection connection, string[] ids, float[]? q, Dictionary<string, double>? similarity)
    {
        var posts = new Dictionary<string, Post>(ids.Length, StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return posts;
        }

        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT d.doc, {(q is null ? "NULL" : "d.embedding")} FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE p.id IN ({SqlList.Parameters(cmd, ids)})";
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            var post = PostJson.Deserialize(reader.GetString(0));
            posts[post.Id] = post;
            if (q is not null && similarity is not null && !similarity.ContainsKey(post.Id) && !reader.IsDBNull(1))
            {
                var v = MemoryMarshal.Cast<byte, float>((byte[])reader[1]);
                if (v.Length == q.Length)
                {
                    similarity[post.Id] = TensorPrimitives.Dot(q, v);
                }
            }
        }

        return posts;
    }
}
