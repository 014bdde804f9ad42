using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Feeds.Replay;
using StreamIngest.Host.Hosting;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench api</c>: the real host (the same <see cref="StreamIngestApp"/> <c>dotnet run</c> starts, feeds off) on
/// 127.0.0.1 over a store of <c>--posts</c> posts, and <c>--clients</c> concurrent HTTP clients sending hybrid
/// <c>/v1/search</c> requests for <c>--seconds</c>: requests/s and latency percentiles, twice: questions that repeat
/// (a dashboard's or an agent's), whose vectors the query cache keeps, and questions never asked before.
/// <c>--precision fp32|int8</c> sets the embedder's precision (posts and questions; default: the product's). The load comes from the same process, so it shares
/// the machine's cores with the host, as a load tool on the same machine would.
/// </summary>
internal static class ApiBench
{
    /// <param name="ServerP50Ms">The host's own request duration (ASP.NET Core's <c>http.server.request.duration</c>): the
    /// time from Kestrel reading the request to writing the response, without the client's side or the connection.</param>
    public sealed record Phase(string Queries, int Requests, int Errors, double RequestsPerS, double P50Ms, double P99Ms, double ServerP50Ms, double ServerP99Ms);

    public sealed record Result(string Bench, int Posts, int Clients, double Seconds, string Precision, IReadOnlyList<Phase> Phases, double RssMb);

    private static readonly string[] Topics =
    [
        "flooding downtown", "power outage", "road closures", "wildfire smoke", "earthquake damage", "evacuation orders",
        "transit strike", "stock market selloff", "$NVDA earnings", "election results", "storm warning", "water shortage",
        "bridge collapse", "hospital capacity", "school closures", "volunteers needed", "donations", "missing people",
        "heat wave", "air quality",
    ];

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var n = options.Int("posts", 28_000);
        var clients = options.Int("clients", 16);
        var seconds = options.Int("seconds", 20);
        var precision = options.GetValueOrDefault("precision") ?? new EmbeddingOptions().Precision;
        // --store DIR keeps the written store between runs (one folder per post count and precision), to compare settings.
        var store = options.GetValueOrDefault("store") is { } keep ? Path.Combine(keep, $"api-{n}-{precision}") : Path.Combine(dir, "store");
        var db = Path.Combine(store, "streamingest.db"); // the file the host opens in Store:DataPath
        if (!File.Exists(db))
        {
            BenchCommand.Progress($"writing {n} posts through the pipeline");
            var replay = Path.Combine(dir, "api.jsonl");
            IngestBench.WriteReplayFile(replay, IngestBench.SampleTexts(n), 0, 300);
            using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions { Precision = precision });
            using var p = new BenchCommand.Pipeline(db, embedder);
            await p.ReplayAsync(new ReplayOptions { Path = replay, Timestamps = ReplayTimestamps.Original });
        }

        await using var app = StreamIngestApp.Build(
        [
            "--urls=http://127.0.0.1:0", $"--Store:DataPath={store}", "--Store:RetentionHours=0", "--Feeds:Replay:Enabled=false",
            "--Feeds:Jetstream:Enabled=false", "--Logging:LogLevel:Default=Warning", $"--Embedding:Precision={precision}",
            .. (options.GetValueOrDefault("set") ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries).Select(s => "--" + s),
        ]);
        await app.StartAsync();
        var address = app.Urls.First();
        BenchCommand.Progress($"host on {address}; {clients} clients for {seconds} s per phase");
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        using (var warm = await http.GetAsync(new Uri("/v1/search?q=warm+up&mode=hybrid", UriKind.Relative)))
        {
            warm.EnsureSuccessStatusCode();
        }

        // --only repeating|unique runs one phase (to profile it alone).
        var only = options.GetValueOrDefault("only");
        var phases = new List<Phase>();
        if (only is null or "repeating")
        {
            phases.Add(await LoadAsync(http, clients, seconds, "repeating", (c, i) => $"what is happening with {Topics[(c + i) % Topics.Length]}"));
        }

        if (only is null or "unique")
        {
            phases.Add(await LoadAsync(http, clients, seconds, "unique", (c, i) => $"what is happening with {Topics[(c + i) % Topics.Length]} {c}-{i}"));
        }

        await app.StopAsync();
        return new Result("api", n, clients, seconds, precision, phases, BenchCommand.RssMb());
    }

    private static async Task<Phase> LoadAsync(HttpClient http, int clients, int seconds, string name, Func<int, int, string> question)
    {
        var server = new List<double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            lock (server)
            {
                server.Add(seconds * 1000);
            }
        });
        listener.Start();
        var latencies = new List<double>[clients];
        var errors = 0;
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            for (var i = 0; Stopwatch.GetTimestamp() < until; i++)
            {
                var t = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(new Uri($"/v1/search?mode=hybrid&k=10&q={Uri.EscapeDataString(question(c, i))}", UriKind.Relative));
                await response.Content.ReadAsByteArrayAsync();
                if (response.IsSuccessStatusCode)
                {
                    mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        listener.Dispose();
        List<double> hosted;
        lock (server)
        {
            hosted = [.. server];
        }

        var all = latencies.SelectMany(l => l).ToList();
        var phase = new Phase(name, all.Count, errors, Math.Round(all.Count / elapsed, 1), Math.Round(BenchCommand.Percentile(all, 50), 1), Math.Round(BenchCommand.Percentile(all, 99), 1),
            Math.Round(BenchCommand.Percentile(hosted, 50), 1), Math.Round(BenchCommand.Percentile(hosted, 99), 1));
        BenchCommand.Progress(JsonSerializer.Serialize(phase));
        return phase;
    }
}
