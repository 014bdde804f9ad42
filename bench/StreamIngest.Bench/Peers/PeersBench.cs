using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using StreamIngest.Embed;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Feeds.Replay;

namespace StreamIngest.Bench.Peers;

/// <summary>
/// <c>bench peers</c>: our int8 vector index and BM25 keyword index side by side with what a .NET user would pick
/// instead (USearch's HNSW in f32 and int8; Lucene.NET's BM25), on the same posts in one process: build rate and
/// memory, p50/p99 of one search alone and of two at once, with and without a 24 h window, recall@10 against exact
/// fp32, and all of it again while posts stream in at 300 a second with deletes and a retention purge. Every vector
/// system is asked as the store asks its own index: <see cref="SqliteRetriever.MinCandidates"/> candidates, re-ranked
/// in fp32 to the top 10.
/// </summary>
internal static class PeersBench
{
    private const int K = 10;
    private const int Candidates = SqliteRetriever.MinCandidates;
    private const int TicksPerSecond = 10;
    private const int StreamRate = 300;
    private const double DeleteShare = 0.01;
    private static readonly long Day = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    /// <summary>Search latency in ms, one search at a time and two at once (each its own thread).</summary>
    public sealed record Latency(QueryBench.Percentiles Alone, QueryBench.Percentiles TwoAtOnce);

    /// <summary>One point of USearch's recall/latency curve: recall@10 and p50 at an expansion_search, on the tuning questions.</summary>
    public sealed record CurvePoint(int ExpansionSearch, double RecallAll, double Recall24h, double P50AllMs, double P5024hMs);

    public sealed record VectorResult(
        string System, IReadOnlyDictionary<string, int>? Settings, double BuildPerS, double ManagedMb, double NativeMb,
        IReadOnlyDictionary<string, Latency> LatencyMs, IReadOnlyDictionary<string, double> RecallAt10,
        IReadOnlyDictionary<string, Latency> StreamingLatencyMs, IReadOnlyDictionary<string, double> RecallAt10AfterStream,
        IReadOnlyList<CurvePoint>? Curve = null);

    public sealed record KeywordResult(
        string System, double BuildPerS, double ManagedMb, double DiskMb, IReadOnlyDictionary<string, Latency> LatencyMs,
        IReadOnlyDictionary<string, Latency> StreamingLatencyMs, IReadOnlyDictionary<string, double>? RelevancePAt10, IReadOnlyDictionary<string, Latency>? QuestionLatencyMs);

    /// <summary>What the writer did while searches ran: posts added, deleted and purged per second of its run.</summary>
    public sealed record StreamLoad(int Seconds, int Added, int Deleted, int Purged);

    public sealed record CorpusResult(
        string Corpus, int Posts, int PostsIn24h, int Queries, StreamLoad Stream, IReadOnlyList<VectorResult> Vector,
        IReadOnlyList<KeywordResult> Keyword, IReadOnlyDictionary<string, double> KeywordTop10Overlap);

    public sealed record Result(string Bench, string Cpu, int Cores, IReadOnlyList<CorpusResult> Corpora);

    /// <summary>One tick of the writer: posts added, deleted, and those the retention purge drops (created before PurgeBefore).</summary>
    private sealed record Tick(PeerDoc[] Adds, PeerDoc[] Deletes, long? PurgeBefore, PeerDoc[] Expired);

    private sealed record Corpus(
        string Name, PeerDoc[] ByKey, List<PeerDoc> Docs, List<(string Text, float[] Vector)> Queries, long NowMs, List<Tick> Plan,
        Func<IKeywordPeer, IReadOnlyDictionary<string, double>>? Relevance, List<(string Text, float[] Vector)>? Questions = null);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var corpora = (options.GetValueOrDefault("corpus") ?? "crisisnlp,synthetic").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var results = new List<CorpusResult>();
        foreach (var name in corpora)
        {
            var corpus = name switch
            {
                "synthetic" => Synthetic(options),
                "crisisnlp" => await CrisisNlpAsync(dir, options),
                _ => throw new ArgumentException($"unknown corpus '{name}' (synthetic, crisisnlp)"),
            };
            results.Add(Run(corpus, dir, options));
        }

        return new Result("peers", Environment.GetEnvironmentVariable("BENCH_CPU") ?? CpuName(), Environment.ProcessorCount, results);
    }

    private static CorpusResult Run(Corpus corpus, string dir, Dictionary<string, string> options)
    {
        var queries = corpus.Queries;
        var recallQueries = queries.Take(50).Select(q => q.Vector).ToArray();
        var tuningQueries = queries.Skip(50).Take(50).Select(q => q.Vector).ToArray();
        var windows = new (string Name, long Since, long Until)[] { ("all", long.MinValue, long.MaxValue), ("24h", corpus.NowMs - Day, long.MaxValue) };
        BenchCommand.Progress($"{corpus.Name}: {corpus.Docs.Count} posts; exact fp32 top 10 for {recallQueries.Length + tuningQueries.Length} questions");
        var exact = windows.ToDictionary(w => w.Name, w => Exact(corpus.Docs, recallQueries, w.Since, w.Until), StringComparer.Ordinal);
        var exactTuning = windows.ToDictionary(w => w.Name, w => Exact(corpus.Docs, tuningQueries, w.Since, w.Until), StringComparer.Ordinal);
        var live = Live(corpus);
        var exactAfter = windows.ToDictionary(w => w.Name, w => Exact(live, recallQueries, w.Since, w.Until), StringComparer.Ordinal);

        var dims = corpus.Docs[0].Vector.Length;
        var capacity = corpus.ByKey.Length;
        var connectivity = options.Int("connectivity", 16);
        var expansionAdd = options.Int("expansion-add", 128);
        // --systems: which vector systems to run (default all of them).
        var systems = (options.GetValueOrDefault("systems") ?? "ours_graph,ours_scan,usearch_f32,usearch_i8").Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var vectorPeers = new (string Name, Func<IVectorPeer> Make)[]
        {
            ("ours_graph", () => new OursVectorPeer(dims, graph: true)),
            ("ours_scan", () => new OursVectorPeer(dims, graph: false)),
            ("usearch_f32", () => new USearchVectorPeer(USearchNative.Scalar.F32, dims, connectivity, expansionAdd, capacity)),
            ("usearch_i8", () => new USearchVectorPeer(USearchNative.Scalar.I8, dims, connectivity, expansionAdd, capacity)),
        }.Where(p => systems.Contains(p.Name)).Select(p => p.Make).ToArray();

        var vector = new List<VectorResult>();
        foreach (var make in vectorPeers)
        {
            var (peer, buildPerS, managedMb) = Build(make, p => p.Build(corpus.Docs), corpus.Docs.Count);
            using (peer)
            {
                BenchCommand.Progress($"  {peer.Name}: {buildPerS:F0} posts/s, managed {managedMb} MB, native {BenchCommand.Mb(peer.NativeBytes)} MB");
                List<CurvePoint>? curve = null;
                Dictionary<string, int>? settings = null;
                if (peer is USearchVectorPeer usearch)
                {
                    curve = Curve(usearch, corpus, tuningQueries, exactTuning, windows);
                    usearch.ExpansionSearch = curve.FirstOrDefault(p => p.RecallAll >= 0.99 && p.Recall24h >= 0.99)?.ExpansionSearch ?? curve[^1].ExpansionSearch;
                    settings = new(StringComparer.Ordinal) { ["connectivity"] = usearch.Connectivity, ["expansion_add"] = usearch.ExpansionAdd, ["expansion_search"] = usearch.ExpansionSearch };
                    BenchCommand.Progress($"  {peer.Name}: expansion_search {usearch.ExpansionSearch} chosen");
                }

                var recall = windows.ToDictionary(w => w.Name, w => Recall(peer, corpus, recallQueries, exact[w.Name], w.Since, w.Until), StringComparer.Ordinal);
                var latency = windows.ToDictionary(w => w.Name, w => Measure(queries, q => Search(peer, corpus, q.Vector, w.Since, w.Until)), StringComparer.Ordinal);
                var streaming = Streaming(corpus, (t, _) => ApplyVector(peer, t), windows, queries, (q, w) => Search(peer, corpus, q.Vector, w.Since, w.Until));
                var recallAfter = windows.ToDictionary(w => w.Name, w => Recall(peer, corpus, recallQueries, exactAfter[w.Name], w.Since, w.Until), StringComparer.Ordinal);
                vector.Add(new VectorResult(peer.Name, settings, Math.Round(buildPerS), managedMb, BenchCommand.Mb(peer.NativeBytes), latency, recall, streaming, recallAfter, curve));
                BenchCommand.Progress($"  {peer.Name}: recall {string.Join(", ", recall.Select(r => $"{r.Key} {r.Value}"))}; p99 alone {latency["all"].Alone.P99} ms");
            }

            GC.Collect();
        }

        // Keyword indexes: both built, compared with each other on the same questions, then each run under the stream.
        var keywordPeers = new Func<IKeywordPeer>[] { () => new OursKeywordPeer(), () => new LuceneKeywordPeer(Path.Combine(dir, $"lucene-{corpus.Name}")) };
        var built = keywordPeers.Select(make => Build(make, p => p.Build(corpus.Docs), corpus.Docs.Count)).ToList();
        var overlap = windows.ToDictionary(w => w.Name, w => Math.Round(queries.Average(q =>
        {
            var ours = built[0].Peer.Search(q.Text, K, w.Since, w.Until);
            var theirs = built[1].Peer.Search(q.Text, K, w.Since, w.Until).ToHashSet();
            return ours.Count == 0 && theirs.Count == 0 ? 1.0 : ours.Count(theirs.Contains) / (double)Math.Max(ours.Count, theirs.Count);
        }), 4), StringComparer.Ordinal);
        var keyword = new List<KeywordResult>();
        foreach (var (peer, buildPerS, managedMb) in built)
        {
            using (peer)
            {
                var relevance = corpus.Relevance?.Invoke(peer);
                // The labelled questions, where the corpus has them: the short, subject-first shape users ask in.
                var asked = corpus.Questions is { } questions
                    ? windows.ToDictionary(w => w.Name, w => Measure(questions, q => peer.Search(q.Text, K, w.Since, w.Until)), StringComparer.Ordinal)
                    : null;
                var latency = windows.ToDictionary(w => w.Name, w => Measure(queries, q => peer.Search(q.Text, K, w.Since, w.Until)), StringComparer.Ordinal);
                var streaming = Streaming(corpus, (t, refresh) => ApplyKeyword(peer, t, refresh), windows, queries, (q, w) => peer.Search(q.Text, K, w.Since, w.Until));
                keyword.Add(new KeywordResult(peer.Name, Math.Round(buildPerS), managedMb, BenchCommand.Mb(peer.DiskBytes), latency, streaming, relevance, asked));
                BenchCommand.Progress($"  {peer.Name}: {buildPerS:F0} posts/s, managed {managedMb} MB, disk {BenchCommand.Mb(peer.DiskBytes)} MB, p99 alone {latency["all"].Alone.P99} ms");
            }
        }

        var plan = corpus.Plan;
        return new CorpusResult(
            corpus.Name, corpus.Docs.Count, corpus.Docs.Count(d => d.CreatedMs >= corpus.NowMs - Day), queries.Count,
            new StreamLoad(plan.Count / TicksPerSecond, plan.Sum(t => t.Adds.Length), plan.Sum(t => t.Deletes.Length), plan.Sum(t => t.Expired.Length)),
            vector, keyword, overlap);
    }

    /// <summary>Builds one system, timing it and measuring the managed heap it adds (after a full collection either side).</summary>
    private static (T Peer, double BuildPerS, double ManagedMb) Build<T>(Func<T> make, Action<T> build, int posts)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var started = Stopwatch.GetTimestamp();
        var peer = make();
        build(peer);
        var perS = posts / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var managed = BenchCommand.Mb(GC.GetTotalMemory(forceFullCollection: true) - before);
        return (peer, perS, managed);
    }

    /// <summary>Recall@10 and p50 at each expansion_search, on questions not used for the printed recall.</summary>
    private static List<CurvePoint> Curve(
        USearchVectorPeer peer, Corpus corpus, float[][] tuning, Dictionary<string, Truth[]> exact, (string Name, long Since, long Until)[] windows)
    {
        var curve = new List<CurvePoint>();
        foreach (var expansion in new[] { 16, 32, 64, 128, 256, 512, 1024 })
        {
            peer.ExpansionSearch = expansion;
            var recall = windows.Select(w => Recall(peer, corpus, tuning, exact[w.Name], w.Since, w.Until)).ToArray();
            var p50 = windows.Select(w =>
            {
                var times = new List<double>();
                foreach (var q in tuning)
                {
                    var t = Stopwatch.GetTimestamp();
                    Search(peer, corpus, q, w.Since, w.Until);
                    times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }

                return R(BenchCommand.Percentile(times, 50));
            }).ToArray();
            curve.Add(new CurvePoint(expansion, recall[0], recall[1], p50[0], p50[1]));
            BenchCommand.Progress($"    expansion_search {expansion}: recall {recall[0]} / {recall[1]} (all / 24h), p50 {p50[0]} / {p50[1]} ms");
            if (recall.All(r => r >= 0.995))
            {
                break;
            }
        }

        return curve;
    }

    /// <summary>The store's vector path: <see cref="Candidates"/> from the index, re-ranked by exact fp32 cosine to the top 10.</summary>
    private static List<long> Search(IVectorPeer peer, Corpus corpus, float[] query, long since, long until) =>
        [.. peer.Search(query, Candidates, since, until).OrderByDescending(key => TensorPrimitives.Dot(query, corpus.ByKey[key].Vector)).Take(K)];

    private static double Recall(IVectorPeer peer, Corpus corpus, float[][] queries, Truth[] exact, long since, long until)
    {
        var total = 0.0;
        for (var q = 0; q < queries.Length; q++)
        {
            var query = queries[q];
            var got = Search(peer, corpus, query, since, until);
            var correct = got.Count(key => TensorPrimitives.Dot(query, corpus.ByKey[key].Vector) >= exact[q].Tenth - 1e-6f);
            total += exact[q].Count == 0 ? 1 : Math.Min(correct, exact[q].Count) / (double)exact[q].Count;
        }

        return Math.Round(total / queries.Length, 4);
    }

    /// <summary>p50/p99 of each question asked alone, then with the questions split between two threads asking at once.</summary>
    private static Latency Measure<TResult>(List<(string Text, float[] Vector)> queries, Func<(string Text, float[] Vector), TResult> search)
    {
        foreach (var q in queries.Take(10))
        {
            search(q); // warm-up
        }

        var alone = new List<double>(queries.Count);
        foreach (var q in queries)
        {
            var t = Stopwatch.GetTimestamp();
            search(q);
            alone.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        var two = new List<double>[] { [], [] };
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, half =>
        {
            for (var i = half; i < queries.Count; i += 2)
            {
                var t = Stopwatch.GetTimestamp();
                search(queries[i]);
                two[half].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
        });

        List<double> both = [.. two[0], .. two[1]];
        return new Latency(
            new QueryBench.Percentiles(R(BenchCommand.Percentile(alone, 50)), R(BenchCommand.Percentile(alone, 99))),
            new QueryBench.Percentiles(R(BenchCommand.Percentile(both, 50)), R(BenchCommand.Percentile(both, 99))));
    }

    /// <summary>
    /// Runs the corpus's write plan in real time (a tick every 100 ms: 30 posts added, 1% of that deleted, and each
    /// second the retention purge) while the questions are asked alone and then two at once in each window; the rest of
    /// the plan is then applied at once, so every system ends in the same state.
    /// </summary>
    private static Dictionary<string, Latency> Streaming<TResult>(
        Corpus corpus, Action<Tick, bool> apply, (string Name, long Since, long Until)[] windows,
        List<(string Text, float[] Vector)> queries, Func<(string Text, float[] Vector), (string Name, long Since, long Until), TResult> search)
    {
        using var done = new CancellationTokenSource();
        var next = 0;
        var writer = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / TicksPerSecond));
            while (next < corpus.Plan.Count && !done.IsCancellationRequested)
            {
                var tick = corpus.Plan[next];
                apply(tick, tick.PurgeBefore is not null);
                next++;
                try
                {
                    await timer.WaitForNextTickAsync(done.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        var latency = windows.ToDictionary(w => w.Name, w => Measure(queries, q => search(q, w)), StringComparer.Ordinal);
        if (next >= corpus.Plan.Count)
        {
            BenchCommand.Progress("    the write plan ended before the questions did; the last ones ran without writes");
        }

        done.Cancel();
        writer.GetAwaiter().GetResult();
        for (; next < corpus.Plan.Count; next++)
        {
            apply(corpus.Plan[next], true);
        }

        apply(new Tick([], [], null, []), true);
        return latency;
    }

    private static void ApplyVector(IVectorPeer peer, Tick tick)
    {
        foreach (var d in tick.Adds)
        {
            peer.Add(d);
        }

        foreach (var d in tick.Deletes.Concat(tick.Expired))
        {
            peer.Remove(d);
        }
    }

    private static void ApplyKeyword(IKeywordPeer peer, Tick tick, bool refresh)
    {
        foreach (var d in tick.Adds)
        {
            peer.Add(d);
        }

        foreach (var d in tick.Deletes)
        {
            peer.Remove(d);
        }

        if (tick.PurgeBefore is { } before)
        {
            peer.Purge(before, tick.Expired);
        }

        if (refresh)
        {
            peer.Refresh(); // a near-real-time reader reopened once a second, as Lucene's guidance suggests
        }
    }

    /// <summary>The posts held once the whole write plan has run.</summary>
    private static List<PeerDoc> Live(Corpus corpus)
    {
        var gone = corpus.Plan.SelectMany(t => t.Deletes.Concat(t.Expired)).Select(d => d.Key).ToHashSet();
        return [.. corpus.Docs.Concat(corpus.Plan.SelectMany(t => t.Adds)).Where(d => !gone.Contains(d.Key))];
    }

    /// <summary>
    /// A question's exact answer: how many posts its top 10 holds (fewer in a sparse window) and the 10th best fp32
    /// cosine. A post found scores as correct when it reaches that cosine, so among exact repeats (a retweet shares its
    /// original's vector) any of them counts, whichever an index happens to return.
    /// </summary>
    private sealed record Truth(int Count, float Tenth);

    /// <summary>Exact fp32 top 10 of each query among the posts created within [since, until].</summary>
    private static Truth[] Exact(List<PeerDoc> docs, float[][] queries, long since, long until)
    {
        var result = new Truth[queries.Length];
        Parallel.For(0, queries.Length, q =>
        {
            var heap = new PriorityQueue<long, float>(K + 1);
            foreach (var d in docs)
            {
                if (d.CreatedMs < since || d.CreatedMs > until)
                {
                    continue;
                }

                var s = TensorPrimitives.Dot(queries[q], d.Vector);
                if (heap.Count < K)
                {
                    heap.Enqueue(d.Key, s);
                }
                else if (heap.TryPeek(out _, out var min) && s > min)
                {
                    heap.DequeueEnqueue(d.Key, s);
                }
            }

            result[q] = new Truth(heap.Count, heap.TryPeek(out _, out var tenth) ? tenth : float.NegativeInfinity);
        });
        return result;
    }

    /// <summary>
    /// The write plan: <see cref="StreamRate"/> new posts a second, 1% of that many held posts deleted at random, and
    /// each second the retention purge dropping the oldest held posts at the same rate, so the corpus keeps its size.
    /// </summary>
    private static List<Tick> Plan(List<PeerDoc> docs, Func<int, PeerDoc> newPost, int seconds)
    {
        var rng = new Random(17);
        var byAge = docs.OrderBy(d => d.CreatedMs).ToList();
        var deleted = new HashSet<long>();
        var plan = new List<Tick>();
        var added = 0;
        var purged = 0;
        var perTick = StreamRate / TicksPerSecond;
        for (var t = 0; t < seconds * TicksPerSecond; t++)
        {
            var adds = Enumerable.Range(added, perTick).Select(newPost).ToArray();
            added += perTick;
            var deletes = new List<PeerDoc>();
            var due = (int)((t + 1) * perTick * DeleteShare) - (int)(t * perTick * DeleteShare);
            while (deletes.Count < due)
            {
                var d = byAge[purged + StreamRate + rng.Next(byAge.Count - purged - StreamRate)];
                if (deleted.Add(d.Key))
                {
                    deletes.Add(d);
                }
            }

            long? before = null;
            PeerDoc[] expired = [];
            if (t % TicksPerSecond == TicksPerSecond - 1)
            {
                // Posts created at the cut's own millisecond stay for the next purge, as a range delete keeps them.
                var cut = before = byAge[purged + StreamRate].CreatedMs;
                var upTo = purged;
                while (byAge[upTo].CreatedMs < cut)
                {
                    upTo++;
                }

                expired = [.. byAge[purged..upTo].Where(d => deleted.Add(d.Key))];
                purged = upTo;
            }

            plan.Add(new Tick(adds, [.. deletes], before, expired));
        }

        return plan;
    }

    private static Corpus Synthetic(Dictionary<string, string> options)
    {
        var n = options.Int("posts", 1_000_000);
        var queries = options.Int("queries", 200);
        var seconds = options.Int("stream-seconds", 20);
        var corpus = new SyntheticCorpus(n, DateTimeOffset.UtcNow);
        BenchCommand.Progress($"synthetic: generating {n} posts");
        var byKey = new PeerDoc[n + seconds * StreamRate];
        PeerDoc Make(int i)
        {
            var (text, createdAt) = corpus.TextAndTime(i);
            return byKey[i] = new PeerDoc(i, createdAt.ToUnixTimeMilliseconds(), "en", text, corpus.Vector(i));
        }

        var docs = new PeerDoc[n];
        Parallel.For(0, n, i => docs[i] = Make(i));
        var plan = Plan([.. docs], i => Make(n + i), seconds);
        return new Corpus(
            "synthetic", byKey, [.. docs], [.. Enumerable.Range(0, queries).Select(q => corpus.Question(1_000_000_000 + q))],
            corpus.Now.ToUnixTimeMilliseconds(), plan, null);
    }

    /// <summary>
    /// The CrisisNLP tweets with their MiniLM vectors, from a store <c>bench relevance</c> kept (<c>--store DIR</c>) or
    /// replayed here through the pipeline. 200 tweets are held out as questions; the stream re-posts held tweets (new
    /// keys, arriving now), as retweets do.
    /// </summary>
    private static async Task<Corpus> CrisisNlpAsync(string dir, Dictionary<string, string> options)
    {
        var fixtures = options.GetValueOrDefault("fixtures") ?? Path.Combine(StreamIngest.Training.TrainCommand.RepoRoot(), "..", "shared", "fixtures");
        var replay = Path.Combine(dir, "crisisnlp.jsonl");
        var crisis = RelevanceBench.LoadCrisisNlp(fixtures, replay);
        var file = Path.Combine(options.GetValueOrDefault("store") ?? dir, "minilm-int8.db");
        if (!File.Exists(file))
        {
            BenchCommand.Progress($"crisisnlp: replaying {crisis.Labels.Count} tweets through the pipeline (MiniLM) into {file}");
            using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions());
            using var pipeline = new BenchCommand.Pipeline(file, embedder);
            await pipeline.ReplayAsync(new ReplayOptions { Path = replay, Timestamps = ReplayTimestamps.Original });
        }

        var rows = new List<(string NativeId, long CreatedMs, string? Lang, string Text, float[] Vector)>();
        using (var db = new SqliteDatabase(file))
        using (var connection = db.Open())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT p.id, p.created_at, p.lang, p.text, d.embedding FROM posts p JOIN post_docs d ON d.rowid = p.rowid WHERE d.embedding IS NOT NULL ORDER BY p.rowid";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var blob = (byte[])reader.GetValue(4);
                var id = reader.GetString(0);
                rows.Add((id[(id.IndexOf(':', StringComparison.Ordinal) + 1)..], reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(blob).ToArray()));
            }
        }

        var rng = new Random(42);
        var queryRows = rows.OrderBy(_ => rng.Next()).Take(options.Int("queries", 200)).ToHashSet();
        var seconds = options.Int("stream-seconds", 20);
        var byKey = new PeerDoc[rows.Count + seconds * StreamRate];
        var docs = new List<PeerDoc>();
        var nativeIds = new Dictionary<long, string>();
        foreach (var r in rows.Where(r => !queryRows.Contains(r)))
        {
            var d = byKey[docs.Count] = new PeerDoc(docs.Count, r.CreatedMs, r.Lang, r.Text, r.Vector);
            nativeIds[d.Key] = r.NativeId;
            docs.Add(d);
        }

        var now = docs.Max(d => d.CreatedMs);
        var repost = new Random(7);
        var held = docs.Count;
        var plan = Plan(docs, i =>
        {
            var original = docs[repost.Next(held)];
            return byKey[held + i] = original with { Key = held + i, CreatedMs = now + (i * 1000L / StreamRate) };
        }, seconds);

        IReadOnlyDictionary<string, double> Relevance(IKeywordPeer peer)
        {
            var scores = new Dictionary<string, List<double>>(StringComparer.Ordinal);
            foreach (var q in crisis.Questions)
            {
                var (since, until) = crisis.Windows[RelevanceQuestions.Incident(q.Event)];
                var half = RelevanceQuestions.IsTuning(q) ? "tuning" : "held_out";
                foreach (var (window, from, to) in new[] { ("window", since.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds()), ("none", long.MinValue, long.MaxValue) })
                {
                    var hits = peer.Search(q.Text, K, from, to).Count(key => crisis.Labels.TryGetValue(nativeIds[key], out var l) && q.IsRelevant(l.Event, l.Category));
                    foreach (var name in new[] { window, $"{half}_{window}" })
                    {
                        (scores.TryGetValue(name, out var list) ? list : scores[name] = []).Add(hits / (double)K);
                    }
                }
            }

            return scores.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value.Average(), 4), StringComparer.Ordinal);
        }

        return new Corpus("crisisnlp", byKey, docs, [.. queryRows.Select(r => (r.Text, r.Vector))], now, plan, Relevance, [.. crisis.Questions.Select(q => (q.Text, Array.Empty<float>()))]);
    }

    private static double R(double v) => Math.Round(v, 3);

    private static string CpuName()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
