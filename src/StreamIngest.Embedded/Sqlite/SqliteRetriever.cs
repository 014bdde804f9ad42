using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;
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
    /// <summary>
    /// Run the keyword and vector lists of a hybrid query at the same time (each on its own connection). Off: the vector
    /// scan of a search that runs alone already spreads over the cores, and the keyword list beside it only competes
    /// for them (<c>bench query</c>, the same warm question both ways in alternating order, fourteen runs at 1M posts:
    /// sequential ÷ concurrent p50 0.84–1.05, at most 1.00 in thirteen; p99 lower in nine; 0.98–1.03 at 28k and 200k). It paid
    /// when the keyword list was FTS5's, at tens of milliseconds.
    /// </summary>
    public bool ConcurrentLists { get; init; }

    /// <summary>
    /// Stories beyond k that a search reads besides its top k by the vector index's own figures (at least k more): the
    /// rest of its candidates are never read. 0 reads every candidate.
    /// </summary>
    public int ShortlistStories { get; init; } = DefaultShortlistStories;

    public const int DefaultShortlistStories = 10;

    /// <summary>Candidates taken from each list before fusion (at least; more for large k).</summary>
    public const int MinCandidates = 40;

    /// <summary>How many more candidates a query with signal filters takes from each list.</summary>
    public const int FilteredCandidateFactor = 5;

    private int _searching;

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _searching);
        try
        {
            return await SearchOnceAsync(query, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _searching);
        }
    }

    private async Task<SearchResult> SearchOnceAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var n = Math.Max(MinCandidates, query.K * (query.CollapseDuplicates ? 4 : 2));
        if (!query.Filter.IsEmpty)
        {
            n *= FilteredCandidateFactor; // signal filters apply to candidates: take more of them
        }

        var timer = new SearchStageTimer(ranker.TimeProvider);
        var since = query.Since?.ToUnixTimeMilliseconds() ?? long.MinValue + 1;
        var until = query.Until?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        await using var connection = db.Open();

        Task<IReadOnlyList<(long RowId, string Key, float Score)>> vectorTask = Task.FromResult<IReadOnlyList<(long, string, float)>>([]);
        float[]? q = null;
        var atOnce = false;
        var approxFacts = new List<RowFacts>();
        if (query.Mode != SearchMode.Keyword)
        {
            q = await embedder.EmbedQueryAsync(query.Text, cancellationToken).ConfigureAwait(false);
            timer.Lap(SearchStages.Embed);
            // With ConcurrentLists (off by default, see there), a search that runs alone computes its two lists at once;
            // while other searches run, the cores are already busy and the hand-off would only add to each.
            atOnce = query.Mode == SearchMode.Hybrid && ConcurrentLists && Volatile.Read(ref _searching) <= 1;
            vectorTask = atOnce
                ? Task.Run(() =>
                {
                    using var own = db.Open();
                    return ApproximateVectorCandidates(own, q!, n, since, until, query, approxFacts);
                }, cancellationToken)
                : Task.FromResult(ApproximateVectorCandidates(connection, q, n, since, until, query, approxFacts));
            if (!atOnce)
            {
                timer.Lap(SearchStages.Vector);
            }
        }

        IReadOnlyList<(long RowId, Candidate Candidate)> keywordHits = [];
        if (query.Mode != SearchMode.Vector)
        {
            // In a hybrid query the keyword list brings in what the vector list missed, from its best half as many: its
            // deeper matches rarely reached the top and each costs a document read (bench relevance, tuning half:
            // P@10 0.5846 / 0.5615 at half depth against 0.5821 / 0.5667 at full depth, with / without a window).
            var depth = query.Mode == SearchMode.Hybrid ? n / 2 : n;
            keywordHits = keywords is null ? KeywordCandidates(connection, query, depth, since, until) : KeywordCandidates(keywords, connection, query, depth, since, until);
            timer.Lap(SearchStages.Keyword);
        }

        var approx = await vectorTask.ConfigureAwait(false);
        if (atOnce)
        {
            timer.Lap(SearchStages.Vector); // with the lists at once: what the vector list took beyond the keyword list
        }

        // Every candidate read (all, or the shortlist's) is read once: its document, and (with a query vector) its stored
        // fp32 vector for the exact cosine that re-ranks the int8 list and scores keyword-only candidates the same way.
        var rows = approx.Select(a => a.RowId).Concat(keywordHits.Select(h => h.RowId)).Distinct().ToArray();
        var considered = rows.Length;
        // Without a vector list the ranker lets BM25 alone decide (posts stored without vectors): nothing to shortlist by.
        if (q is not null && approx.Count > 0 && query.Filter.IsEmpty && ranker.Options.Fusion == FusionMethod.Scores && ShortlistStories > 0)
        {
            rows = Shortlist(q, approx, approxFacts, keywordHits, query.K + Math.Max(query.K, ShortlistStories), ranker.KeywordFactorFor(query.Text));
        }

        var similarity = q is null ? null : new Dictionary<string, double>(rows.Length, StringComparer.Ordinal);
        // Signal filters read the whole post; otherwise ranking reads a few fields of each candidate, and only the
        // hits are parsed whole (bench query --posts 28000: a document parsed whole costs about 14 µs, ranking's
        // fields about 4, and a hybrid search has some 60 candidates for its 10 hits).
        var documents = query.Filter.IsEmpty ? new Dictionary<string, byte[]>(rows.Length, StringComparer.Ordinal) : null;
        var posts = LoadPosts(connection, rows, q, similarity, documents);
        timer.Lap(SearchStages.Read);
        IReadOnlyList<Candidate> vector = ExactTop(approx, similarity, n);
        IReadOnlyList<Candidate> keyword = [.. keywordHits.Select(h => h.Candidate)];
        if (!query.Filter.IsEmpty)
        {
            posts = posts.Where(kv => query.Filter.Accepts(kv.Value)).ToDictionary(StringComparer.Ordinal);
            vector = [.. vector.Where(c => posts.ContainsKey(c.Id))];
            keyword = [.. keyword.Where(c => posts.ContainsKey(c.Id))];
        }

        var hits = ranker.Rank(vector, keyword, posts, query.K, query.CollapseDuplicates, similarity, query.MinRelevance, query.Text);
        if (documents is not null)
        {
            hits = [.. hits.Select(h => h with { Post = PostJson.Deserialize(documents[h.Post.Id]) })];
        }

        timer.Lap(SearchStages.Rank);
        return new SearchResult(hits, considered, query.Mode, timer.Stages);
    }

    /// <summary>
    /// The rows of the <paramref name="stories"/> best stories among the candidates, ranked as the ranker would rank them
    /// but from what the vector index holds (int8 cosine, time, engagement, story) instead of the rows themselves: only
    /// those rows are read. A story past the shortlist reaches the top k only when int8's error (within 0.01 of the exact
    /// cosine, the index's tests hold it there) outweighs its gap to the k-th; a story's every candidate row is read, so
    /// its duplicates are counted as before. bench relevance: the same hits, scores and counts in all 284 searches.
    /// </summary>
    private long[] Shortlist(
        float[] q, IReadOnlyList<(long RowId, string Key, float Score)> approx, List<RowFacts> approxFacts, IReadOnlyList<(long RowId, Candidate Candidate)> keywordHits, int stories, double keywordFactor)
    {
        // The vector list's facts came with it from the scan; only keyword-only candidates are looked up in the index.
        var count = approx.Count + keywordHits.Count;
        var rows = new List<long>(count);
        var facts = new List<RowFacts>(count);
        var bonus = new List<double>(count);
        var at = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (var i = 0; i < approx.Count; i++)
        {
            at[approx[i].Key] = i;
            rows.Add(approx[i].RowId);
            facts.Add(approxFacts[i]);
            bonus.Add(0);
        }

        var best = 0.0;
        foreach (var (_, candidate) in keywordHits)
        {
            best = Math.Max(best, candidate.Score);
        }

        List<(long RowId, string Key, double Bonus)>? keywordOnly = null;
        foreach (var (rowId, candidate) in keywordHits)
        {
            var b = ranker.KeywordBonus(candidate.Score, best) * keywordFactor;
            if (at.TryGetValue(candidate.Id, out var i))
            {
                bonus[i] = b;
            }
            else
            {
                (keywordOnly ??= []).Add((rowId, candidate.Id, b));
            }
        }

        if (keywordOnly is not null)
        {
            var described = index.Describe(q, keywordOnly.Select(k => k.Key));
            foreach (var (rowId, key, b) in keywordOnly)
            {
                if (described.TryGetValue(key, out var f))
                {
                    rows.Add(rowId);
                    facts.Add(f);
                    bonus.Add(b);
                }
            }
        }

        var now = ranker.TimeProvider.GetUtcNow();
        var storyScores = new Dictionary<int, double>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var f = facts[i];
            var final = ranker.Final(
                f.Score + bonus[i], ranker.RecencyFactor(DateTimeOffset.FromUnixTimeMilliseconds(f.CreatedMs), now), ranker.EngagementFactor(f.Engagement));
            storyScores[f.Story] = storyScores.TryGetValue(f.Story, out var s) ? Math.Max(s, final) : final;
        }

        if (storyScores.Count <= stories)
        {
            return [.. rows];
        }

        // The score of the last story kept; stories tied with it are kept too.
        var ranked = storyScores.Values.ToArray();
        Array.Sort(ranked);
        var least = ranked[^stories];
        var kept = new List<long>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            if (storyScores[facts[i].Story] >= least)
            {
                kept.Add(rows[i]);
            }
        }

        return [.. kept];
    }

    /// <summary>The raw vector search alone (approximate int8 scan + fp32 re-rank), for the benchmark and tests.</summary>
    public IReadOnlyList<Candidate> VectorSearch(ReadOnlySpan<float> queryVector, int n, SearchQuery filter)
    {
        using var connection = db.Open();
        var q = queryVector.ToArray();
        var approx = ApproximateVectorCandidates(connection, q, n,
            filter.Since?.ToUnixTimeMilliseconds() ?? long.MinValue + 1, filter.Until?.ToUnixTimeMilliseconds() ?? long.MaxValue, filter, facts: null);
        var similarity = new Dictionary<string, double>(approx.Count, StringComparer.Ordinal);
        LoadPosts(connection, [.. approx.Select(a => a.RowId)], q, similarity, new Dictionary<string, byte[]>(StringComparer.Ordinal));
        return ExactTop(approx, similarity, n);
    }

    /// <summary>
    /// The int8 scan's pool, at least <see cref="MinCandidates"/> deep, for the exact fp32 re-rank to order; each one's
    /// <see cref="RowFacts"/> into <paramref name="facts"/> when given, for the shortlist.
    /// </summary>
    private IReadOnlyList<(long RowId, string Key, float Score)> ApproximateVectorCandidates(SqliteConnection connection, float[] q, int n, long since, long until, SearchQuery query, List<RowFacts>? facts) =>
        index.Search(q, Math.Max(n, MinCandidates), RowFilter(connection, query, since, until, index.CodeOf), out _, facts);

    /// <summary>The int8 pool re-ranked by exact fp32 cosine (a post without a stored vector drops out), best n.</summary>
    private static List<Candidate> ExactTop(IReadOnlyList<(long RowId, string Key, float Score)> approx, Dictionary<string, double>? similarity, int n)
    {
        if (similarity is null)
        {
            return [];
        }

        var exact = new List<Candidate>(approx.Count);
        foreach (var a in approx)
        {
            if (similarity.TryGetValue(a.Key, out var cosine))
            {
                exact.Add(new Candidate(a.Key, cosine));
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
    private static List<(long RowId, Candidate Candidate)> KeywordCandidates(KeywordIndex keywords, SqliteConnection connection, SearchQuery query, int n, long since, long until)
    {
        var terms = FtsQuery.Terms(query.Text);
        if (terms.Count == 0)
        {
            return [];
        }

        return [.. keywords.Search(terms, n, RowFilter(connection, query, since, until, keywords.CodeOf)).Select(h => (h.RowId, new Candidate(h.Key, h.Score)))];
    }

    private static List<(long RowId, Candidate Candidate)> KeywordCandidates(SqliteConnection connection, SearchQuery query, int n, long since, long until)
    {
        var match = FtsQuery.Build(query.Text);
        if (match is null)
        {
            return [];
        }

        var sql = new StringBuilder("""
            SELECT p.rowid, p.id, bm25(posts_fts) AS score FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid
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
        var list = new List<(long, Candidate)>(n);
        while (reader.Read())
        {
            // SQLite's bm25() is negative, lower is better; report it as a positive relevance.
            list.Add((reader.GetInt64(0), new Candidate(reader.GetString(1), -reader.GetDouble(2))));
        }

        return list;
    }

    /// <summary>
    /// The documents of the posts at <paramref name="rows"/>; with a query vector <paramref name="q"/>, each one's exact
    /// fp32 cosine goes into <paramref name="similarity"/> (its stored vector is only read for that).
    /// </summary>
    /// <param name="documents">When given, each post is parsed for ranking only (<see cref="PostDocuments.ParseForRanking"/>)
    /// and its document kept here by id, to parse whole if it is returned; when null, posts are parsed whole.</param>
    private static Dictionary<string, Post> LoadPosts(SqliteConnection connection, long[] rows, float[]? q, Dictionary<string, double>? similarity, Dictionary<string, byte[]>? documents)
    {
        var posts = new Dictionary<string, Post>(rows.Length, StringComparer.Ordinal);
        if (rows.Length == 0)
        {
            return posts;
        }

        // Read through SQLite's own statement API: a column's bytes are read where SQLite holds them. ADO.NET copies
        // each blob into a new array, and a candidate's 1.5 KB vector is only read for one dot product (bench query
        // --posts 28000: 276 → 170 KiB allocated a hybrid query; its time within the machine's noise).
        var withVectors = q is not null && similarity is not null;
        var handle = connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(handle, withVectors ? "SELECT doc, embedding FROM post_docs WHERE rowid = ?" : "SELECT doc FROM post_docs WHERE rowid = ?", out var statement);
        SqliteException.ThrowExceptionForRC(rc, handle);
        using (statement)
        {
            foreach (var row in rows)
            {
                raw.sqlite3_reset(statement);
                raw.sqlite3_bind_int64(statement, 1, row);
                rc = raw.sqlite3_step(statement);
                if (rc == raw.SQLITE_DONE)
                {
                    continue; // deleted since the candidate lists were made
                }

                if (rc != raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(rc, handle);
                }

                var document = raw.sqlite3_column_blob(statement, 0);
                Post post;
                if (documents is null)
                {
                    post = PostJson.Deserialize(document);
                }
                else
                {
                    post = PostDocuments.ParseForRanking(document);
                    documents[post.Id] = document.ToArray();
                }

                posts[post.Id] = post;
                if (withVectors && raw.sqlite3_column_type(statement, 1) == raw.SQLITE_BLOB)
                {
                    var v = MemoryMarshal.Cast<byte, float>(raw.sqlite3_column_blob(statement, 1));
                    if (v.Length == q!.Length)
                    {
                        similarity![post.Id] = TensorPrimitives.Dot(q, v);
                    }
                }
            }
        }

        return posts;
    }
}
