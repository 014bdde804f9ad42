using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using StreamIngest.Embed;
using StreamIngest.Feeds.Replay;
using StreamIngest.OpenAI.Embed;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench ingest --provider openai [--endpoint URL --model M --dimensions D --key K]</c>: the remote embedder, against
/// a real endpoint or, without <c>--endpoint</c>, a local OpenAI-compatible server on 127.0.0.1 (deterministic hashed
/// vectors, no model: it measures our client and pipeline, not a model). Prints the upstream's raw rate (the
/// OpenAI client alone, the same batches and concurrency), the pipeline's end-to-end rate, and their ratio.
/// </summary>
internal static class OpenAiIngestBench
{
    public sealed record Result(
        string Bench, string Provider, string Endpoint, string Model, int Dimensions, int Posts, int BatchSize, int Concurrency,
        double UpstreamRawPerS, double PipelinePerS, double Ratio, long PostTokens, double CostUsd, long Retries, long StoredWithoutVector, double RssMb);

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var n = options.Int("posts", 2000);
        var texts = IngestBench.SampleTexts(n);
        await using var local = options.ContainsKey("endpoint") ? null : await LocalEmbeddingsServer.StartAsync();
        var o = new OpenAiEmbeddingOptions
        {
            Endpoint = options.GetValueOrDefault("endpoint") ?? local!.Endpoint,
            Model = options.GetValueOrDefault("model") ?? "text-embedding-3-small",
            Dimensions = options.Int("dimensions", 384),
            ApiKey = options.GetValueOrDefault("key") ?? Environment.GetEnvironmentVariable("Embedding__OpenAI__ApiKey") ?? "sk-local",
            BatchSize = options.Int("batch", 64),
            Concurrency = options.Int("concurrency", 2),
        };
        var generator = OpenAiEmbedderRegistration.CreateGenerator(o);
        await generator.GenerateAsync(texts.Take(o.BatchSize).ToArray()); // warm-up: connection, JIT

        BenchCommand.Progress($"upstream alone: {n} posts in batches of {o.BatchSize}, {o.Concurrency} at once");
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(texts.Chunk(o.BatchSize), new ParallelOptions { MaxDegreeOfParallelism = o.Concurrency }, async (batch, ct) => await generator.GenerateAsync(batch, new EmbeddingGenerationOptions { Dimensions = o.Dimensions }, ct));
        var raw = n / Stopwatch.GetElapsedTime(started).TotalSeconds;

        BenchCommand.Progress($"pipeline through the endpoint, as fast as possible, {n} posts");
        var embedder = new OpenAiEmbedder(generator, o, TimeProvider.System, new BenchCommand.BenchMeterFactory());
        var fast = Path.Combine(dir, "openai.jsonl");
        IngestBench.WriteReplayFile(fast, texts, 0, 300);
        double pipeline;
        long withoutVector;
        using (var p = new BenchCommand.Pipeline(Path.Combine(dir, "openai.db"), new CachedQueryEmbedder(embedder), signals: false))
        {
            var elapsed = await p.ReplayAsync(new ReplayOptions { Path = fast, Timestamps = ReplayTimestamps.Original });
            pipeline = p.Metrics.Stored / elapsed.TotalSeconds;
            withoutVector = p.Metrics.EmbedFailed;
        }

        return new Result("ingest", "openai", local is null ? o.Endpoint! : "local test server", o.Model, o.Dimensions, n, o.BatchSize, o.Concurrency,
            Math.Round(raw, 1), Math.Round(pipeline, 1), Math.Round(pipeline / raw, 3), embedder.PostTokens, Math.Round(embedder.CostUsd, 6), embedder.Retries, withoutVector, BenchCommand.RssMb());
    }

    /// <summary>
    /// <c>bench embeddings-server [--port 5099]</c>: the local endpoint alone, until Ctrl+C, for running the host with
    /// <c>Embedding:Provider=openai</c> offline (a demo, or a check of the remote path without an account).
    /// </summary>
    public static async Task<object> ServeAsync(Dictionary<string, string> options)
    {
        await using var server = await LocalEmbeddingsServer.StartAsync(options.Int("port", 5099));
        await Console.Error.WriteLineAsync($"OpenAI-compatible embeddings (hashed words, no model) at {server.Endpoint}; Ctrl+C stops");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return new { bench = "embeddings-server", endpoint = server.Endpoint, requests = server.Requests, inputs = server.Inputs };
    }

    /// <summary>An OpenAI-compatible <c>/v1/embeddings</c> on 127.0.0.1 answering hashed vectors of the asked length (the same words, the same vector, in every run).</summary>
    private sealed class LocalEmbeddingsServer : IAsyncDisposable
    {
        private WebApplication _app = null!;
        private long _requests;
        private long _inputs;

        public string Endpoint { get; private set; } = "";

        public long Requests => Interlocked.Read(ref _requests);

        public long Inputs => Interlocked.Read(ref _inputs);

        public static async Task<LocalEmbeddingsServer> StartAsync(int port = 0)
        {
            var server = new LocalEmbeddingsServer();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
            var app = builder.Build();
            app.MapPost("/v1/embeddings", async (HttpContext http) =>
            {
                using var body = await JsonDocument.ParseAsync(http.Request.Body);
                var input = body.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
                var dims = body.RootElement.TryGetProperty("dimensions", out var d) ? d.GetInt32() : 1536;
                Interlocked.Increment(ref server._requests);
                Interlocked.Add(ref server._inputs, input.Length);
                http.Response.ContentType = "application/json";
                await using var w = new Utf8JsonWriter(http.Response.Body);
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
                var tokens = 0;
                for (var i = 0; i < input.Length; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("object", "embedding");
                    w.WriteNumber("index", i);
                    w.WriteStartArray("embedding");
                    var v = new float[dims];
                    foreach (var word in input[i].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        v[(int)(Fnv1a(word) % (uint)dims)] += 1;
                        tokens++;
                    }

                    foreach (var x in v)
                    {
                        w.WriteNumberValue(x);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("model", "local");
                w.WriteStartObject("usage");
                w.WriteNumber("prompt_tokens", tokens);
                w.WriteNumber("total_tokens", tokens);
                w.WriteEndObject();
                w.WriteEndObject();
            });
            await app.StartAsync();
            server._app = app;
            server.Endpoint = app.Urls.First() + "/v1";
            return server;
        }

        private static uint Fnv1a(string word)
        {
            var h = 2166136261u;
            foreach (var c in word)
            {
                h = (h ^ c) * 16777619u;
            }

            return h;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
