using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Feeds.Replay;

namespace StreamIngest.Bench;

/// <summary>
/// Ingest: the embedder alone on N posts, then the same N posts replayed end to end (replay → channel →
/// enrich → embed → SQLite + vector index) as fast as possible, then a paced run at --rate posts/s for
/// freshness (receipt → searchable).
/// </summary>
internal static class IngestBench
{
    public sealed record Result(
        string Bench, int Posts, int Threads, string Precision, double EmbedderRawPerS, double PipelinePerS, double Ratio,
        double EmbedderInt8PerS, double Int8Speedup, double Int8MinCosine, double Int8MeanCosine,
        double Int8FpNarrowingSpeedup, double Int8FpNarrowingMinCosine, double Rate, int PacedPosts, double FreshnessP50Ms, double FreshnessP99Ms, double RssMb, long DeadLettered,
        IReadOnlyDictionary<string, double> EnrichMicrosPerPost);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var n = options.Int("posts", 2000);
        var rate = options.Int("rate", 300);
        var threads = options.Int("threads", 0);
        var onnxBatch = options.Int("batch", new EmbeddingOptions().MaxBatch);
        var maxBatch = options.Int("max-batch", 64);
        var texts = SampleTexts(n);
        // The embedder as configured by default (Embedding:Precision) or --precision: alone, then end to end.
        var precision = options.GetValueOrDefault("precision") ?? new EmbeddingOptions().Precision;
        using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions { Threads = threads, MaxBatch = onnxBatch, Precision = precision });
        embedder.Embed(texts.Take(64).ToArray()); // warm-up

        BenchCommand.Progress($"embedder ({precision}) alone on {n} posts");
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < n; i += 64)
        {
            embedder.Embed(texts.Skip(i).Take(64).ToArray());
        }

        var raw = n / Stopwatch.GetElapsedTime(started).TotalSeconds;

        // The int8 graphs on the same posts against fp32, in alternating rounds of 64 posts so that a shared
        // machine's drifting speed falls on all three alike: posts/s, and agreement with fp32 (cosine of each
        // post's two vectors). "int8" smooths and quantises the down-projections too (the default); "int8, fp32
        // narrowing" keeps them in fp32 (Embedding:QuantizeNarrowing=false).
        BenchCommand.Progress($"fp32 / int8 / int8 with fp32 narrowing, alternating, on {n} posts each");
        using var fp32 = new OnnxSentenceEmbedder(new EmbeddingOptions { Threads = threads, MaxBatch = onnxBatch, Precision = "fp32" });
        using var int8 = new OnnxSentenceEmbedder(new EmbeddingOptions { Threads = threads, MaxBatch = onnxBatch, Precision = "int8" });
        using var int8Wide = new OnnxSentenceEmbedder(new EmbeddingOptions { Threads = threads, MaxBatch = onnxBatch, Precision = "int8", QuantizeNarrowing = false });
        OnnxSentenceEmbedder[] contenders = [fp32, int8, int8Wide];
        var spent = new TimeSpan[contenders.Length];
        foreach (var e in contenders)
        {
            e.Embed(texts.Take(64).ToArray());
        }

        for (var i = 0; i < n; i += 64)
        {
            var round = texts.Skip(i).Take(64).ToArray();
            for (var c = 0; c < contenders.Length; c++)
            {
                var t = Stopwatch.GetTimestamp();
                contenders[c].Embed(round);
                spent[c] += Stopwatch.GetElapsedTime(t);
            }
        }

        var sample = texts.Take(500).ToArray();
        var reference = fp32.Embed(sample);
        float[] Agreement(OnnxSentenceEmbedder e) => [.. reference.Zip(e.Embed(sample), (a, b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b))];
        var agreement = Agreement(int8);
        var agreementWide = Agreement(int8Wide);
        var int8PerS = n / spent[1].TotalSeconds;
        var int8Speedup = spent[0] / spent[1];
        var int8WideSpeedup = spent[0] / spent[2];
        var enrichCost = EnrichmentCost(texts, embedder);

        BenchCommand.Progress($"pipeline, as fast as possible, {n} posts");
        var fast = Path.Combine(dir, "fast.jsonl");
        WriteReplayFile(fast, texts, 0, rate);
        double pipeline;
        long dead;
        using (var p = new BenchCommand.Pipeline(Path.Combine(dir, "fast.db"), embedder, maxBatch))
        {
            var elapsed = await p.ReplayAsync(new ReplayOptions { Path = fast, Timestamps = ReplayTimestamps.Original });
            pipeline = p.Metrics.Stored / elapsed.TotalSeconds;
            dead = p.Metrics.Rejected;
            if (p.Metrics.Stored != n)
            {
                throw new InvalidOperationException($"pipeline stored {p.Metrics.Stored} of {n} posts");
            }
        }

        var paced = Math.Min(n, rate * 15);
        BenchCommand.Progress($"pipeline paced at {rate} posts/s, {paced} posts");
        var pacedFile = Path.Combine(dir, "paced.jsonl");
        WriteReplayFile(pacedFile, texts.Take(paced).ToArray(), n, rate);
        double p50, p99;
        using (var p = new BenchCommand.Pipeline(Path.Combine(dir, "paced.db"), embedder, maxBatch))
        {
            await p.ReplayAsync(new ReplayOptions { Path = pacedFile, Timestamps = ReplayTimestamps.ShiftToNow, Speed = 1 });
            p50 = p.Metrics.FreshnessPercentile(50) ?? 0;
            p99 = p.Metrics.FreshnessPercentile(99) ?? 0;
            dead += p.Metrics.Rejected;
        }

        return new Result("ingest", n, threads == 0 ? Environment.ProcessorCount : threads, precision, Math.Round(raw, 1), Math.Round(pipeline, 1),
            Math.Round(pipeline / raw, 3), Math.Round(int8PerS, 1), Math.Round(int8Speedup, 2), Math.Round(agreement.Min(), 4), Math.Round(agreement.Average(), 4),
            Math.Round(int8WideSpeedup, 2), Math.Round(agreementWide.Min(), 4),
            rate, paced, Math.Round(p50, 1), Math.Round(p99, 1), BenchCommand.RssMb(), dead, enrichCost);
    }

    /// <summary>Microseconds per post of each enricher, on the sample texts without a stated language (so detection runs).</summary>
    private static Dictionary<string, double> EnrichmentCost(string[] texts, OnnxSentenceEmbedder embedder)
    {
        var safety = new StreamIngest.Enrich.Safety.SafetyOptions();
        var posts = texts.Select((t, i) => new Model.Post
        {
            Id = $"bench:{i}", Source = "bench", NativeId = i.ToString(CultureInfo.InvariantCulture), CreatedAt = DateTimeOffset.UtcNow, Text = t,
            Provenance = new Model.Provenance("bench", "bench", DateTimeOffset.UtcNow, "00"),
        }).ToList();
        var cost = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var enricher in BenchCommand.Pipeline.Enrichers(safety))
        {
            foreach (var t in texts.Take(50))
            {
                // warm-up: models load on first use, which is start-up cost, not per-post cost
                enricher.Enrich(new Model.Post { Id = "w", Source = "w", NativeId = "w", CreatedAt = DateTimeOffset.UtcNow, Text = t, Provenance = new Model.Provenance("w", "w", DateTimeOffset.UtcNow, "00") });
            }

            var started = Stopwatch.GetTimestamp();
            foreach (var p in posts)
            {
                enricher.Enrich(p);
            }

            cost[enricher.GetType().Name] = Math.Round(Stopwatch.GetElapsedTime(started).TotalMicroseconds / posts.Count, 1);
        }

        var vectors = embedder.Embed([.. posts.Select(p => p.Text)]);
        for (var i = 0; i < posts.Count; i++)
        {
            posts[i].Embedding = vectors[i];
        }

        var signals = BenchCommand.Pipeline.SignalEnricherFor(safety);
        var s = Stopwatch.GetTimestamp();
        foreach (var p in posts)
        {
            signals.Enrich(p);
        }

        cost[nameof(Enrich.Signals.SignalEnricher)] = Math.Round(Stopwatch.GetElapsedTime(s).TotalMicroseconds / posts.Count, 1);
        var stories = new Enrich.Signals.StoryClusterer(TimeProvider.System);
        var c = Stopwatch.GetTimestamp();
        foreach (var p in posts)
        {
            stories.Enrich(p);
        }

        cost[nameof(Enrich.Signals.StoryClusterer)] = Math.Round(Stopwatch.GetElapsedTime(c).TotalMicroseconds / posts.Count, 1);
        return cost;
    }

    /// <summary>Realistic post texts: the bundled demo sample, each made unique so no duplicate skips its embedding.</summary>
    internal static string[] SampleTexts(int n)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl");
        var sample = File.ReadLines(path)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        return [.. Enumerable.Range(0, n).Select(i => $"{sample[i % sample.Length]} (#{i.ToString(CultureInfo.InvariantCulture)})")];
    }

    internal static void WriteReplayFile(string path, string[] texts, int idOffset, int rate)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        using var writer = new StreamWriter(path);
        for (var i = 0; i < texts.Length; i++)
        {
            writer.WriteLine(JsonSerializer.Serialize(new
            {
                source = "bench",
                id = (i + idOffset).ToString(CultureInfo.InvariantCulture),
                text = texts[i],
                created_at = start.AddSeconds((double)i / rate),
                author = "bench",
                lang = "en",
            }));
        }
    }
}
