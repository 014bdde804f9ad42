using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using StreamIngest.Embed;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Bench;

/// <summary>
/// Query: N posts with synthetic clustered 384-d vectors (deterministic per post, so exact ground truth is
/// recomputed by streaming instead of held in memory) and synthetic text, written through the real SQLite
/// store and vector index; then hybrid queries through the real retriever. The query vector is given, so
/// hybrid latency excludes embedding the query; that is measured on its own with the real model.
/// </summary>
internal static class QueryBench
{
    private const int Dims = SyntheticCorpus.Dims;

    /// <summary>
    /// <see cref="LatencyMs"/>: p50/p99 per list (hybrid, keyword, vector) and window (<c>24h</c>: the last day of the
    /// two held; <c>all</c>: no window), through the whole retriever with the query vector given.
    /// </summary>
    public sealed record Result(
        string Bench, bool SyntheticVectors, int Posts, int Queries, double InsertPerS, double ScanP50Ms,
        IReadOnlyDictionary<string, Percentiles> LatencyMs, IReadOnlyDictionary<string, IReadOnlyDictionary<string, Percentiles>> StageMs, Percentiles WarmConcurrentMs, Percentiles WarmSequentialMs, double ConcurrentSpeedupP50, double QueryEmbedP50Ms,
        [property: System.Text.Json.Serialization.JsonPropertyName("recall_at_10")] double RecallAt10, double RssMb, IReadOnlyDictionary<string, double> RssMbHeld, double GraphBuildPerS = 0);

    /// <param name="GcShare">The share of these queries during which the collector paused the process.</param>
    /// <param name="P99WithoutGc">p99 of the queries without such a pause.</param>
    /// <param name="AllocatedKb">Mean bytes allocated per query (all threads), in KiB.</param>
    public sealed record Percentiles(double P50, double P99, double? GcShare = null, double? P99WithoutGc = null, double? AllocatedKb = null);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var n = options.Int("posts", 100_000);
        var queries = options.Int("queries", 200);
        var now = DateTimeOffset.UtcNow;
        var corpus = new SyntheticCorpus(n, now);
        var clusters = corpus.Clusters;
        var embedder = new GivenEmbedder();
        var db = new SqliteDatabase(Path.Combine(dir, "query.db"));
        // --share: the sign-bit pass's share (default: the store's, SqliteOptions.VectorPrefilterShare), to compare settings.
        var defaults = new SqliteOptions();
        // --graph-from N: posts from which the HNSW graph is used (0: never; default: the store's, SqliteOptions.VectorGraphFromPosts).
        var index = new SqliteOptions
        {
            VectorPrefilterShare = options.TryGetValue("share", out var share) ? double.Parse(share, CultureInfo.InvariantCulture) : defaults.VectorPrefilterShare,
            VectorGraphFromPosts = options.Int("graph-from", defaults.VectorGraphFromPosts),
        }.NewVectorIndex(Dims);
        var keywords = new KeywordIndex();
        var store = new SqlitePostStore(db, index, keywords);

        BenchCommand.Progress($"writing {n} posts ({clusters} clusters) through the store");
        var started = Stopwatch.GetTimestamp();
        var rssHeld = new Dictionary<string, double>(StringComparer.Ordinal);
        var graphPerS = 0.0;
        const int batch = 5000;
        for (var i = 0; i < n; i += batch)
        {
            var posts = Enumerable.Range(i, Math.Min(batch, n - i)).Select(j => MakePost(j, corpus)).ToArray();
            await store.UpsertAsync(posts, CancellationToken.None);
            var held = i + posts.Length;
            if (held is 10_000 or 100_000 or 1_000_000 && held < n)
            {
                // Resident memory with this many posts held (index, caches, the process), printed as they pass.
                GC.Collect();
                rssHeld[held.ToString(CultureInfo.InvariantCulture)] = BenchCommand.RssMb();
            }
            if (i % 100_000 == 0 && i > 0)
            {
                BenchCommand.Progress($"  {i} posts, rss {BenchCommand.RssMb()} MB");
            }
        }

        var insertPerS = n / Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (index.GraphFromRows > 0 && n >= index.GraphFromRows)
        {
            // The host builds the graph in the background as posts arrive; here it catches up before the questions.
            var graphStarted = Stopwatch.GetTimestamp();
            index.CatchUpGraph();
            graphPerS = n / Stopwatch.GetElapsedTime(graphStarted).TotalSeconds;
            BenchCommand.Progress($"graph: {n} posts at {graphPerS:F0} posts/s");
        }

        rssHeld[n.ToString(CultureInfo.InvariantCulture)] = BenchCommand.RssMb();
        // --shortlist N: stories beyond k a search reads (0 reads every candidate), to compare with the default.
        var shortlist = options.Int("shortlist", new SqliteRetriever(db, index, embedder, new HybridRanker(new RankingOptions(), TimeProvider.System)).ShortlistStories);
        var retriever = new SqliteRetriever(db, index, embedder, new HybridRanker(new RankingOptions(), TimeProvider.System), keywords) { ShortlistStories = shortlist };

        (string Name, DateTimeOffset? Since)[] windows = [("24h", now.AddHours(-24)), ("all", null)];
        (string Name, SearchMode Mode)[] modes = [("hybrid", SearchMode.Hybrid), ("keyword", SearchMode.Keyword), ("vector", SearchMode.Vector)];
        // Every measured search asks its own question: one asked just before (by another mode or window) would find its
        // int8 rows and documents still in the processor's cache, and a new question is what a user sends.
        var perRound = 1 + windows.Length * modes.Length;
        (string Text, float[] Vector) Question(int q) => corpus.Question(q);

        var qs = Enumerable.Range(0, queries).Select(q => Question(q * perRound)).ToArray();

        BenchCommand.Progress($"{queries} queries");
        var scan = new List<double>();
        var latency = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var gcPaused = new Dictionary<string, List<bool>>(StringComparer.Ordinal);
        var allocatedBytes = new Dictionary<string, long>(StringComparer.Ordinal);
        var stageMs = new Dictionary<string, Dictionary<string, List<double>>>(StringComparer.Ordinal);
        var sequential = new List<double>();
        var warmConcurrent = new List<double>();
        var concurrentRetriever = new SqliteRetriever(db, index, embedder, new HybridRanker(new RankingOptions(), TimeProvider.System), keywords) { ConcurrentLists = true, ShortlistStories = shortlist };
        foreach (var (text, vector) in qs.Take(10))
        {
            embedder.Given[text] = vector;
            await retriever.SearchAsync(new SearchQuery { Text = text }, CancellationToken.None); // warm-up
        }

        for (var round = 0; round < qs.Length; round++)
        {
            var (text, vector) = qs[round];
            var t = Stopwatch.GetTimestamp();
            index.Search(vector, SqliteRetriever.MinCandidates, new VectorFilter(long.MinValue + 1, long.MaxValue));
            scan.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);

            embedder.Given[text] = vector;
            var asked = 0;
            foreach (var (window, since) in windows)
            {
                foreach (var (name, mode) in modes)
                {
                    var own = Question(round * perRound + 1 + asked++);
                    embedder.Given[own.Text] = own.Vector;
                    var query = new SearchQuery { Text = own.Text, K = 10, Since = since, Mode = mode };
                    var paused = GC.GetTotalPauseDuration();
                    var allocated = GC.GetTotalAllocatedBytes();
                    t = Stopwatch.GetTimestamp();
                    var result = await retriever.SearchAsync(query, CancellationToken.None);
                    var key = $"{name}_{window}";
                    (latency.TryGetValue(key, out var list) ? list : latency[key] = []).Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                    var stages = stageMs.TryGetValue(key, out var s) ? s : stageMs[key] = new(StringComparer.Ordinal);
                    foreach (var (stage, ms) in result.StageMs ?? new Dictionary<string, double>())
                    {
                        (stages.TryGetValue(stage, out var times) ? times : stages[stage] = []).Add(ms);
                    }

                    (gcPaused.TryGetValue(key, out var flags) ? flags : gcPaused[key] = []).Add(GC.GetTotalPauseDuration() > paused);
                    allocatedBytes[key] = allocatedBytes.GetValueOrDefault(key) + (GC.GetTotalAllocatedBytes() - allocated);
                }
            }

            // Concurrent vs sequential lists on the same, now warm, query; order alternated so neither gains from going second.
            var all = new SearchQuery { Text = text, K = 10 };
            foreach (var concurrentFirst in new[] { scan.Count % 2 == 0, scan.Count % 2 != 0 })
            {
                t = Stopwatch.GetTimestamp();
                await (concurrentFirst ? concurrentRetriever : retriever).SearchAsync(all, CancellationToken.None);
                (concurrentFirst ? warmConcurrent : sequential).Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        }

        BenchCommand.Progress("recall@10 against exact fp32 (streamed)");
        var recallQueries = qs.Take(Math.Min(50, queries)).ToArray();
        var exact = ExactTop10(recallQueries.Select(q => q.Vector).ToArray(), n, corpus);
        var recall = 0.0;
        for (var q = 0; q < recallQueries.Length; q++)
        {
            var got = retriever.VectorSearch(recallQueries[q].Vector, 10, new SearchQuery { Text = "-" }).Take(10).Select(c => c.Id).ToHashSet();
            recall += exact[q].Count(got.Contains) / 10.0;
        }

        var rss = BenchCommand.RssMb();
        BenchCommand.Progress("query embedding with the real model");
        var embed = new List<double>();
        using (var model = new OnnxSentenceEmbedder(new EmbeddingOptions()))
        {
            model.Embed(["warm up"]);
            foreach (var (text, _) in qs.Take(50))
            {
                var t = Stopwatch.GetTimestamp();
                model.Embed([$"what is happening with {text}"]);
                embed.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        }

        db.Dispose();
        return new Result("query", true, n, queries, Math.Round(insertPerS), R(BenchCommand.Percentile(scan, 50)),
            latency.ToDictionary(kv => kv.Key, kv => new Percentiles(
                R(BenchCommand.Percentile(kv.Value, 50)), R(BenchCommand.Percentile(kv.Value, 99)),
                Math.Round(gcPaused[kv.Key].Count(p => p) / (double)kv.Value.Count, 3),
                R(BenchCommand.Percentile([.. kv.Value.Where((_, i) => !gcPaused[kv.Key][i])], 99)),
                Math.Round(allocatedBytes[kv.Key] / 1024.0 / kv.Value.Count, 1)), StringComparer.Ordinal),
            stageMs.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, Percentiles>)kv.Value.ToDictionary(
                st => st.Key, st => new Percentiles(R(BenchCommand.Percentile(st.Value, 50)), R(BenchCommand.Percentile(st.Value, 99))), StringComparer.Ordinal), StringComparer.Ordinal),
            new Percentiles(R(BenchCommand.Percentile(warmConcurrent, 50)), R(BenchCommand.Percentile(warmConcurrent, 99))),
            new Percentiles(R(BenchCommand.Percentile(sequential, 50)), R(BenchCommand.Percentile(sequential, 99))),
            Math.Round(BenchCommand.Percentile(sequential, 50) / BenchCommand.Percentile(warmConcurrent, 50), 2),
            R(BenchCommand.Percentile(embed, 50)), Math.Round(recall / recallQueries.Length, 4), rss, rssHeld, Math.Round(graphPerS));
    }

    private static double R(double v) => Math.Round(v, 2);

    private static Post MakePost(int i, SyntheticCorpus corpus)
    {
        var (text, createdAt) = corpus.TextAndTime(i);
        return new Post
        {
            Id = $"synthetic:{i}",
            Source = "synthetic",
            NativeId = i.ToString(CultureInfo.InvariantCulture),
            CreatedAt = createdAt,
            ReceivedAt = corpus.Now,
            Author = new Author($"user{i % 5000}"),
            Text = text,
            Lang = "en",
            ContentHash = i.ToString("x16", CultureInfo.InvariantCulture),
            Embedding = corpus.Vector(i),
            Provenance = new Provenance("bench", "synthetic", corpus.Now, string.Empty),
        };
    }

    private static List<string>[] ExactTop10(float[][] queries, int n, SyntheticCorpus corpus)
    {
        var heaps = queries.Select(_ => new PriorityQueue<int, float>()).ToArray();
        for (var i = 0; i < n; i++)
        {
            var v = corpus.Vector(i);
            for (var q = 0; q < queries.Length; q++)
            {
                var s = TensorPrimitives.Dot(queries[q], v);
                if (heaps[q].Count < 10)
                {
                    heaps[q].Enqueue(i, s);
                }
                else if (heaps[q].TryPeek(out _, out var min) && s > min)
                {
                    heaps[q].DequeueEnqueue(i, s);
                }
            }
        }

        return [.. heaps.Select(h => h.UnorderedItems.Select(x => $"synthetic:{x.Element}").ToList())];
    }

    /// <summary>Returns the vector the benchmark chose for a query text (the query vector is given, not computed).</summary>
    private sealed class GivenEmbedder : IEmbedder
    {
        public Dictionary<string, float[]> Given { get; } = new(StringComparer.Ordinal);

        public string Model => "given";

        public int Dimensions => Dims;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(t => Given[t]).ToArray());
    }
}
