using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StreamIngest.Embed;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Enrich;
using StreamIngest.Enrich.Safety;
using StreamIngest.Enrich.Signals;
using StreamIngest.Feeds.Replay;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Transport;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench ingest</c> and <c>bench query</c>: programs that print numbers (never timed tests). Each run
/// ends with one JSON line; everything before it is progress on stderr.
/// </summary>
public static class BenchCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("ingest" or "query" or "relevance" or "api" or "mixed" or "watches" or "embeddings-server" or "peers"))
        {
            await Console.Error.WriteLineAsync("usage: bench ingest [--posts N] [--rate R] [--threads T]\n       bench ingest --provider openai [--posts N] [--endpoint URL --model M --dimensions D --key K] [--batch 64] [--concurrency 2]\n       bench query [--posts N] [--queries Q]\n       bench relevance [--models minilm,arctic-xs] [--precision fp32|int8] [--fixtures ../shared/fixtures] [--store DIR] [--only multilingual]\n       bench api [--posts 28000] [--clients 16] [--seconds 20] [--precision fp32|int8] [--set Key=Value;...]\n       bench mixed [--rates 150,300,450] [--clients 16] [--quiet 10] [--seconds 20] [--backoff true|false] [--set Key=Value;...]\n       bench watches [--posts 2000]\n       bench embeddings-server [--port 5099]\n       bench peers [--corpus crisisnlp,synthetic] [--systems ours_graph,ours_scan,usearch_f32,usearch_i8] [--posts 1000000] [--queries 200] [--stream-seconds 20] [--connectivity 16] [--expansion-add 128] [--store DIR] [--fixtures DIR]");
            return 2;
        }

        var options = ParseOptions(args[1..]);
        var dir = Path.Combine(Path.GetTempPath(), "streamingest-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            object result = args[0] switch
            {
                "ingest" when options.GetValueOrDefault("provider") == "openai" => await OpenAiIngestBench.RunAsync(dir, options),
                "ingest" => await IngestBench.RunAsync(dir, options),
                "query" => await QueryBench.RunAsync(dir, options),
                "api" => await ApiBench.RunAsync(dir, options),
                "mixed" => await MixedBench.RunAsync(dir, options),
                "watches" => await WatchBench.RunAsync(dir, options),
                "embeddings-server" => await OpenAiIngestBench.ServeAsync(options),
                "peers" => await Peers.PeersBench.RunAsync(dir, options),
                _ => await RelevanceBench.RunAsync(dir, options),
            };
            Console.WriteLine(JsonSerializer.Serialize(result, result.GetType(), PostJson.Options));
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"could not remove {dir}: {ex.Message}");
            }
        }
    }

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            // "--key value", or a flag alone ("--fit", "--no-floor") when no value follows.
            var flag = i + 1 == args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
            options[args[i].TrimStart('-')] = flag ? "true" : args[++i];
        }

        return options;
    }

    internal static int Int(this Dictionary<string, string> o, string key, int fallback) =>
        o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    internal static double Percentile(List<double> values, double p) => StreamIngest.Pipeline.NearestRank.Of(values, p);

    internal static double RssMb() => Mb(Process.GetCurrentProcess().WorkingSet64);

    internal static double Mb(long bytes) => Math.Round(bytes / 1048576.0, 1);

    internal static void Progress(string message) => Console.Error.WriteLine($"[bench] {message}");

    /// <summary>An in-process pipeline on a fresh SQLite file: the same classes the host wires.</summary>
    internal sealed class Pipeline : IDisposable
    {
        public Pipeline(string path, IEmbedder embedder, int maxBatch = 64, bool signals = true, string embeddingKey = "minilm", IReadOnlyList<StreamIngest.Watches.Watch>? watches = null)
        {
            Db = new SqliteDatabase(path);
            Index = new Int8VectorIndex(embedder.Dimensions);
            Keywords = new StreamIngest.Embedded.Keywords.KeywordIndex();
            Store = new SqlitePostStore(Db, Index, Keywords);
            Metrics = new PipelineMetrics(new BenchMeterFactory());
            DeadLetters = new MeteredDeadLetterStore(new SqliteDeadLetterStore(Db), Metrics);
            Transport = new ChannelFeedTransport(4096, maxBatch);
            // The host's enrichment chain: injection on the raw text, clean-up and entities, language, then the signal heads.
            var safety = new SafetyOptions();
            WatchStore = new SqliteWatchStore(Db);
            foreach (var w in watches ?? [])
            {
                WatchStore.AddAsync(w, CancellationToken.None).GetAwaiter().GetResult();
            }

            Processor = new PostProcessor(
                Enrichers(safety), embedder, Store, new SqliteCursorStore(Db, TimeProvider.System), DeadLetters, Metrics,
                TimeProvider.System, NullLogger<PostProcessor>.Instance, signalEnrichers: signals ? [SignalEnricherFor(safety, embeddingKey), new StoryClusterer(TimeProvider.System)] : null,
                watches: watches is null ? null : new StreamIngest.Watches.WatchMatcher(WatchStore, TimeProvider.System));
        }

        public static IEnricher[] Enrichers(SafetyOptions safety) => [new PromptInjectionEnricher(safety), new StandardEnricher(), new LanguageEnricher()];

        public static SignalEnricher SignalEnricherFor(SafetyOptions safety, string embeddingKey = "minilm") => new(SignalModel.Load(SignalModel.BundledPathFor(embeddingKey)), safety);

        public SqliteDatabase Db { get; }
        public SqliteWatchStore WatchStore { get; }
        public Int8VectorIndex Index { get; }
        public StreamIngest.Embedded.Keywords.KeywordIndex Keywords { get; }
        public SqlitePostStore Store { get; }
        public MeteredDeadLetterStore DeadLetters { get; }
        public PipelineMetrics Metrics { get; }
        public ChannelFeedTransport Transport { get; }
        public PostProcessor Processor { get; }

        /// <summary>Replays a file through transport → processor → store and returns when every event is handled.</summary>
        public async Task<TimeSpan> ReplayAsync(ReplayOptions replay)
        {
            var consume = Transport.ConsumeAsync(Processor.HandleAsync, CancellationToken.None);
            var started = Stopwatch.GetTimestamp();
            var source = new ReplayFeedSource(replay, DeadLetters, TimeProvider.System);
            await foreach (var e in source.ReadAsync(CancellationToken.None))
            {
                await Transport.PublishAsync(e, CancellationToken.None);
                Metrics.RecordReceived();
            }

            Transport.Complete();
            await consume;
            return Stopwatch.GetElapsedTime(started);
        }

        public void Dispose() => Db.Dispose();
    }

    internal sealed class BenchMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
