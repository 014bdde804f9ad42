using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StreamIngest.Host.Hosting;
using StreamIngest.Pipeline;
using StreamIngest.Transport;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench mixed</c>: the real host (embedded store, default settings) ingesting a replay paced at <c>--rate</c> posts/s
/// (real tweet texts from the demo sample), first alone for <c>--quiet</c> seconds, then while <c>--clients</c> HTTP
/// clients ask questions never asked before for <c>--seconds</c>. Every <c>--interval</c> seconds it prints what was
/// stored, the queue, freshness p50/p99, queries accepted and refused per second, and the accepted queries' p50/p99.
/// <c>--rates 150,300,450</c> runs the whole thing once per rate. Clients honour a refusal's <c>retry-after-ms</c> (or
/// <c>Retry-After</c>) as the OpenAI SDKs do; <c>--backoff false</c> makes them ask again at once.
/// </summary>
internal static class MixedBench
{
    public sealed record Interval(
        string Phase, double AtS, double ReceivedPerS, double StoredPerS, long Queue, double FreshnessP50Ms, double FreshnessP99Ms,
        double AcceptedPerS, double RefusedPerS, double AcceptedP50Ms, double AcceptedP99Ms, double RefusedP99Ms, double RefusedServerP99Ms,
        double? IngestShare, double? QueryShare, double? QueryRateLimit);

    public sealed record PhaseSummary(
        string Phase, double StoredPerS, double MinStoredPerS, long MaxQueue, double FreshnessP50Ms, double FreshnessP99Ms,
        double AcceptedPerS, double RefusedPerS, double AcceptedP50Ms, double AcceptedP99Ms, double RefusedP99Ms, double RefusedServerP99Ms);

    public sealed record RateRun(int Rate, IReadOnlyList<PhaseSummary> Phases, IReadOnlyList<Interval> Intervals, double RssMb);

    public sealed record Result(string Bench, int Clients, int QuietSeconds, int LoadSeconds, bool Backoff, IReadOnlyList<RateRun> Runs);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var rates = (options.GetValueOrDefault("rates") ?? options.GetValueOrDefault("rate") ?? "300")
            .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray();
        var clients = options.Int("clients", 16);
        var quiet = options.Int("quiet", 10);
        var load = options.Int("seconds", 20);
        var interval = options.Int("interval", 2);
        var backoff = !string.Equals(options.GetValueOrDefault("backoff"), "false", StringComparison.OrdinalIgnoreCase);
        var extra = (options.GetValueOrDefault("set") ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries).Select(s => "--" + s).ToArray();
        var runs = new List<RateRun>();
        foreach (var rate in rates)
        {
            runs.Add(await RunRateAsync(dir, rate, clients, quiet, load, interval, backoff, extra));
        }

        return new Result("mixed", clients, quiet, load, backoff, runs);
    }

    private static async Task<RateRun> RunRateAsync(string dir, int rate, int clients, int quiet, int load, int interval, bool backoff, string[] extra)
    {
        // Enough posts for the whole run and some: the feed never runs dry while it is measured.
        var posts = rate * (quiet + load + 30);
        var replay = Path.Combine(dir, $"mixed-{rate}.jsonl");
        IngestBench.WriteReplayFile(replay, IngestBench.SampleTexts(posts), 0, rate);
        var store = Path.Combine(dir, $"mixed-{rate}");
        await using var app = StreamIngestApp.Build(
        [
            "--urls=http://127.0.0.1:0", $"--Store:DataPath={store}", "--Feeds:Jetstream:Enabled=false", "--Feeds:Replay:Enabled=true",
            $"--Feeds:Replay:Path={replay}", "--Feeds:Replay:Speed=1", "--Feeds:Replay:Timestamps=ShiftToNow", "--Logging:LogLevel:Default=Warning",
            "--StatusIntervalSeconds=0", .. extra,
        ]);
        await app.StartAsync();
        var metrics = app.Services.GetRequiredService<PipelineMetrics>();
        var consumer = app.Services.GetRequiredService<IFeedConsumer>();
        var capacity = app.Services.GetService<StreamIngest.Capacity.CapacityController>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        BenchCommand.Progress($"rate {rate}/s: host on {http.BaseAddress}; stream alone {quiet} s, then {clients} clients for {load} s");
        while (metrics.Stored == 0)
        {
            await Task.Delay(50); // the first post stored: the stream is flowing (polling a counter, not timing the run)
        }

        // One question first, as bench api does: the search path's first run pays for its compilation.
        using (var warm = await http.GetAsync(new Uri("/v1/search?q=warm+up&mode=hybrid", UriKind.Relative)))
        {
            warm.EnsureSuccessStatusCode();
        }

        var tally = new Tally();
        // The host's own time for a refusal (ASP.NET Core's request duration, status 429): what the gate costs, apart
        // from the client and the connection, which share these cores.
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "http.response.status_code" && tag.Value is 429)
                {
                    tally.RefusedOnServer(seconds * 1000);
                }
            }
        });
        listener.Start();
        var intervals = new List<Interval>();
        var started = Stopwatch.GetTimestamp();
        using var stop = new CancellationTokenSource();
        var sampler = SampleAsync("quiet", quiet);
        await sampler;
        var askers = Enumerable.Range(0, clients).Select(c => Task.Run(() => AskAsync(http, c, tally, backoff, stop.Token))).ToArray();
        await SampleAsync("load", load);
        await stop.CancelAsync();
        await Task.WhenAll(askers);
        await app.StopAsync();
        var phases = intervals.GroupBy(i => i.Phase).Select(Summarise).ToList();
        foreach (var p in phases)
        {
            BenchCommand.Progress(JsonSerializer.Serialize(p));
        }

        return new RateRun(rate, phases, intervals, BenchCommand.RssMb());

        async Task SampleAsync(string phase, int seconds)
        {
            var stored = metrics.Stored;
            var received = metrics.Received;
            var fresh = metrics.FreshnessSamples;
            var at = Stopwatch.GetTimestamp();
            for (var elapsed = 0; elapsed < seconds; elapsed += interval)
            {
                await Task.Delay(TimeSpan.FromSeconds(interval));
                var now = Stopwatch.GetTimestamp();
                var span = Stopwatch.GetElapsedTime(at, now).TotalSeconds;
                var (accepted, refused, acceptedMs, refusedMs, refusedServerMs) = tally.Take();
                var freshness = metrics.FreshnessPercentilesSince(fresh) ?? (0, 0);
                var s = new Interval(
                    phase, Math.Round(Stopwatch.GetElapsedTime(started, now).TotalSeconds, 1), Math.Round((metrics.Received - received) / span, 1), Math.Round((metrics.Stored - stored) / span, 1), consumer.Backlog ?? -1,
                    Math.Round(freshness.P50, 1), Math.Round(freshness.P99, 1), Math.Round(accepted / span, 1), Math.Round(refused / span, 1),
                    Math.Round(BenchCommand.Percentile(acceptedMs, 50), 1), Math.Round(BenchCommand.Percentile(acceptedMs, 99), 1), Math.Round(BenchCommand.Percentile(refusedMs, 99), 1),
                    Math.Round(BenchCommand.Percentile(refusedServerMs, 99), 2), capacity?.Current.IngestShare, capacity?.Current.QueryShare, capacity?.Current.QueryRateLimit);
                intervals.Add(s);
                BenchCommand.Progress(JsonSerializer.Serialize(s));
                stored = metrics.Stored;
                received = metrics.Received;
                fresh = metrics.FreshnessSamples;
                at = now;
            }
        }

        PhaseSummary Summarise(IGrouping<string, Interval> g)
        {
            var list = g.ToList();
            return new PhaseSummary(
                g.Key, Math.Round(list.Average(i => i.StoredPerS), 1), list.Min(i => i.StoredPerS), list.Max(i => i.Queue),
                Math.Round(list.Average(i => i.FreshnessP50Ms), 1), list.Max(i => i.FreshnessP99Ms),
                Math.Round(list.Average(i => i.AcceptedPerS), 1), Math.Round(list.Average(i => i.RefusedPerS), 1),
                Math.Round(list.Average(i => i.AcceptedP50Ms), 1), list.Max(i => i.AcceptedP99Ms), list.Max(i => i.RefusedP99Ms), list.Max(i => i.RefusedServerP99Ms));
        }
    }

    private static readonly string[] Topics =
    [
        "flooding downtown", "power outage", "road closures", "wildfire smoke", "earthquake damage", "evacuation orders",
        "transit strike", "stock market selloff", "$NVDA earnings", "election results", "storm warning", "water shortage",
    ];

    /// <summary>One client: new questions back to back; a refusal waits what the server asked (when honoured).</summary>
    private static async Task AskAsync(HttpClient http, int client, Tally tally, bool backoff, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var q = $"what is happening with {Topics[(client + i) % Topics.Length]} {client}-{i}";
            var t = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.GetAsync(new Uri($"/v1/search?mode=hybrid&k=10&q={Uri.EscapeDataString(q)}", UriKind.Relative), stop);
                await response.Content.ReadAsByteArrayAsync(stop);
                var ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                if (response.IsSuccessStatusCode)
                {
                    tally.Accepted(ms);
                    continue;
                }

                tally.Refused(ms);
                if (backoff && RetryAfter(response) is { } wait)
                {
                    await Task.Delay(wait, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.First(), CultureInfo.InvariantCulture, out var m))
        {
            return TimeSpan.FromMilliseconds(m);
        }

        return response.Headers.RetryAfter?.Delta;
    }

    /// <summary>Queries per interval: accepted and refused, with their round-trip times.</summary>
    private sealed class Tally
    {
        private readonly Lock _gate = new();
        private List<double> _accepted = [];
        private List<double> _refused = [];
        private List<double> _refusedServer = [];

        public void RefusedOnServer(double ms)
        {
            lock (_gate)
            {
                _refusedServer.Add(ms);
            }
        }

        public void Accepted(double ms)
        {
            lock (_gate)
            {
                _accepted.Add(ms);
            }
        }

        public void Refused(double ms)
        {
            lock (_gate)
            {
                _refused.Add(ms);
            }
        }

        public (int Accepted, int Refused, List<double> AcceptedMs, List<double> RefusedMs, List<double> RefusedServerMs) Take()
        {
            lock (_gate)
            {
                var result = (_accepted.Count, _refused.Count, _accepted, _refused, _refusedServer);
                _accepted = [];
                _refused = [];
                _refusedServer = [];
                return result;
            }
        }
    }
}
