using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Embed;

/// <summary>A fake embeddings endpoint; records each request's inputs and answers from <see cref="Answer"/>.</summary>
internal sealed class EmbeddingsServer : IAsyncDisposable
{
    private LocalServer _server = null!;

    public ConcurrentQueue<string[]> Requests { get; } = new();

    public ConcurrentQueue<int?> AskedDimensions { get; } = new();

    /// <summary>Given the request number (1-based): null answers normally; else the status and headers to answer with.</summary>
    public Func<int, (int Status, string? RetryAfter)?> Answer { get; set; } = _ => null;

    /// <summary>Given the request number (1-based): true holds the request unanswered until the client gives up.</summary>
    public Func<int, bool> Hold { get; set; } = _ => false;

    /// <summary>Completed when the first held request arrives.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The inputs of every request answered with vectors (what was embedded, and paid for).</summary>
    public ConcurrentQueue<string> Answered { get; } = new();

    public int ReturnedDimensions { get; set; }

    public string Endpoint => _server.Url + "/v1";

    public static async Task<EmbeddingsServer> StartAsync()
    {
        var s = new EmbeddingsServer();
        var count = 0;
        s._server = await LocalServer.StartAsync(app => app.MapPost("/v1/embeddings", async (HttpContext http) =>
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var input = body.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var dims = body.RootElement.TryGetProperty("dimensions", out var d) ? d.GetInt32() : (int?)null;
            var n = Interlocked.Increment(ref count);
            s.Requests.Enqueue(input);
            s.AskedDimensions.Enqueue(dims);
            if (s.Answer(n) is { } fault)
            {
                if (fault.RetryAfter is not null)
                {
                    http.Response.Headers["Retry-After"] = fault.RetryAfter;
                }

                http.Response.StatusCode = fault.Status;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "injected", type = "rate_limit", code = (string?)null } });
                return;
            }

            if (s.Hold(n))
            {
                s.Holding.TrySetResult();
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default); // a hung upstream: the signal is the client hanging up
                return;
            }

            foreach (var text in input)
            {
                s.Answered.Enqueue(text);
            }

            var length = s.ReturnedDimensions > 0 ? s.ReturnedDimensions : dims ?? 8;
            await http.Response.WriteAsJsonAsync(new
            {
                @object = "list",
                model = "text-embedding-3-small",
                data = input.Select((t, i) => new { @object = "embedding", index = i, embedding = VectorFor(t, length) }),
                usage = new { prompt_tokens = input.Sum(t => t.Split(' ').Length), total_tokens = input.Sum(t => t.Split(' ').Length) },
            });
        }));
        return s;
    }

    /// <summary>Not unit length on purpose: the embedder normalises.</summary>
    public static float[] VectorFor(string text, int length) =>
        [.. Enumerable.Range(0, length).Select(i => (float)(((text.Length * 31) + (i * 7)) % 13) + 1)];

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
