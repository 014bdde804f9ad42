using StreamIngest.Embedded.Onnx;
using StreamIngest.Feeds.Replay;
using StreamIngest.Watches;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench watches</c>: the same posts through the whole pipeline with 0, 100 and 1,000 standing queries (each a
/// real query vector from the model), posts/s and the ratio to none; matching is in memory, one dot product per post
/// and watch, and matches are written before the cursor moves.
/// </summary>
internal static class WatchBench
{
    public sealed record Run(int Watches, double PipelinePerS, double Ratio, long Matches);

    public sealed record Result(string Bench, int Posts, IReadOnlyList<Run> Runs);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var n = options.Int("posts", 2000);
        var texts = IngestBench.SampleTexts(n);
        using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions());
        embedder.Embed(texts.Take(64).ToArray()); // warm-up
        var topics = new[] { "flooding", "power outage", "wildfire", "earnings", "strike", "election", "storm", "traffic", "heat wave", "football" };
        var runs = new List<Run>();
        foreach (var count in new[] { 0, 100, 1000, 0 }) // 0 again at the end: how much the machine alone moves the figure
        {
            var watches = new List<Watch>(count);
            for (var i = 0; i < count; i++)
            {
                var query = $"{topics[i % topics.Length]} news {i}";
                watches.Add(new Watch { Id = $"w{i}", Query = query, Vector = await embedder.EmbedQueryAsync(query, CancellationToken.None), MinScore = 0.5, CreatedAt = DateTimeOffset.UtcNow });
            }

            var replay = Path.Combine(dir, $"watches-{count}-{runs.Count}.jsonl");
            IngestBench.WriteReplayFile(replay, texts, count * 1_000_000, 300);
            BenchCommand.Progress($"pipeline with {count} watches, {n} posts");
            using var p = new BenchCommand.Pipeline(Path.Combine(dir, $"watches-{count}-{runs.Count}.db"), embedder, watches: watches);
            var elapsed = await p.ReplayAsync(new ReplayOptions { Path = replay, Timestamps = ReplayTimestamps.Original });
            long matches = 0;
            foreach (var w in watches)
            {
                matches += (await p.WatchStore.ReadEventsAsync(w.Id, 0, int.MaxValue, CancellationToken.None)).Count;
            }

            var perS = p.Metrics.Stored / elapsed.TotalSeconds;
            runs.Add(new Run(count, Math.Round(perS, 1), runs.Count == 0 ? 1 : Math.Round(perS / runs[0].PipelinePerS, 3), matches));
        }

        return new Result("watches", n, runs);
    }
}
