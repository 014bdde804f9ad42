using System.ClientModel;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;
using Polly;
using Polly.Retry;
using StreamIngest.Embed;

namespace StreamIngest.OpenAI.Embed;

/// <summary>
/// The embedding port over an OpenAI-compatible <c>/embeddings</c> endpoint, through Microsoft.Extensions.AI's
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (the OpenAI client underneath, its own retries off):
/// inputs cut to <see cref="OpenAiEmbeddingOptions.MaxInputTokens"/> with the model's tokenizer, batches of
/// <see cref="OpenAiEmbeddingOptions.BatchSize"/> with <see cref="OpenAiEmbeddingOptions.Concurrency"/> in flight, each
/// request retried by the named pipeline <c>openai-embeddings</c> (429 waits what <c>Retry-After</c> asks), every
/// vector checked for the configured length and normalised to unit length. Tokens and cost are counted for posts and
/// queries apart.
/// </summary>
public sealed class OpenAiEmbedder : IEmbedder, IEmbeddingUsage
{
    public const string MeterName = "StreamIngest.Embedding";
    public const string PipelineName = "openai-embeddings";

    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly OpenAiEmbeddingOptions _options;
    private readonly ResiliencePipeline _retry;
    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("cl100k_base");
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private long _postTokens;
    private long _queryTokens;
    private long _truncated;
    private long _retries;

    public OpenAiEmbedder(IEmbeddingGenerator<string, Embedding<float>> generator, OpenAiEmbeddingOptions options, TimeProvider timeProvider, IMeterFactory meterFactory)
    {
        _generator = generator;
        _options = options;
        _retry = RetryPipeline(options, timeProvider, () => Interlocked.Increment(ref _retries));
        var meter = meterFactory.Create(MeterName);
        _tokens = meter.CreateCounter<long>("streamingest.embedding.tokens", "{token}", "Tokens sent to the embedding model, by kind (post, query)");
        _cost = meter.CreateCounter<double>("streamingest.embedding.cost", "USD", "Estimated embedding cost at Embedding:OpenAI:PricePerMillionTokens");
        meter.CreateObservableCounter("streamingest.embedding.truncated", () => Interlocked.Read(ref _truncated), "{input}", "Inputs cut to the model's token limit");
        meter.CreateObservableCounter("streamingest.embedding.retries", () => Interlocked.Read(ref _retries), "{request}", "Embedding requests retried");
    }

    /// <summary>Recorded with stored vectors: another endpoint model or length re-embeds the store.</summary>
    public string Model => $"openai:{_options.Model}@{_options.Dimensions.ToString(CultureInfo.InvariantCulture)}";

    public int Dimensions => _options.Dimensions;

    public long PostTokens => Interlocked.Read(ref _postTokens);

    public long QueryTokens => Interlocked.Read(ref _queryTokens);

    public double CostUsd => (PostTokens + QueryTokens) * _options.PricePerMillionTokens / 1_000_000;

    public long TruncatedInputs => Interlocked.Read(ref _truncated);

    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Called with the tokens each question's embedding cost, in the asking request's context (per-key usage).</summary>
    public Action<long>? QueryTokensUsed { get; set; }

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) => EmbedAsync(texts, "post", cancellationToken);

    public async Task<float[]> EmbedQueryAsync(string query, CancellationToken cancellationToken) =>
        (await EmbedAsync([query], "query", cancellationToken).ConfigureAwait(false))[0];

    private async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, string kind, CancellationToken ct)
    {
        var inputs = texts.Select(Truncate).ToArray();
        var vectors = new float[inputs.Length][];
        var batches = Enumerable.Range(0, (inputs.Length + _options.BatchSize - 1) / _options.BatchSize).ToArray();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency, CancellationToken = ct }, async (b, token) =>
        {
            var start = b * _options.BatchSize;
            var slice = inputs[start..Math.Min(inputs.Length, start + _options.BatchSize)];
            var result = await _retry.ExecuteAsync(
                async t => await _generator.GenerateAsync(slice, new EmbeddingGenerationOptions { Dimensions = _options.SendDimensions ? _options.Dimensions : null }, t).ConfigureAwait(false),
                token).ConfigureAwait(false);
            if (result.Count != slice.Length)
            {
                throw new InvalidOperationException($"The embeddings endpoint answered {result.Count} vectors for {slice.Length} inputs.");
            }

            for (var i = 0; i < result.Count; i++)
            {
                vectors[start + i] = Unit(result[i].Vector, _options);
            }

            var used = result.Usage?.InputTokenCount ?? slice.Sum(s => (long)_tokenizer.CountTokens(s));
            Interlocked.Add(ref kind == "query" ? ref _queryTokens : ref _postTokens, used);
            if (kind == "query")
            {
                QueryTokensUsed?.Invoke(used);
            }

            _tokens.Add(used, new KeyValuePair<string, object?>("kind", kind));
            _cost.Add(used * _options.PricePerMillionTokens / 1_000_000, new KeyValuePair<string, object?>("kind", kind));
        }).ConfigureAwait(false);
        return vectors;
    }

    /// <summary>The text cut to the token limit (an over-long input fails the whole request otherwise).</summary>
    private string Truncate(string text)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= _options.MaxInputTokens)
        {
            return text; // a token covers at least one UTF-8 byte: no more tokens than bytes
        }

        var index = _tokenizer.GetIndexByTokenCount(text, _options.MaxInputTokens, out _, out var count);
        if (index >= text.Length)
        {
            return text;
        }

        Interlocked.Increment(ref _truncated);
        return text[..index];
    }

    private static float[] Unit(ReadOnlyMemory<float> vector, OpenAiEmbeddingOptions options)
    {
        if (vector.Length != options.Dimensions)
        {
            throw new EmbeddingDimensionException(
                $"{OpenAiEmbeddingOptions.Section}:Model '{options.Model}' answered {vector.Length}-dimensional vectors, but {OpenAiEmbeddingOptions.Section}:Dimensions is {options.Dimensions}. " +
                "Set Dimensions to what the model gives, or a length it can shorten to.");
        }

        var v = vector.ToArray();
        var norm = TensorPrimitives.Norm(v);
        if (norm > 0)
        {
            TensorPrimitives.Divide(v, norm, v);
        }

        return v;
    }

    /// <summary>
    /// The <c>openai-embeddings</c> pipeline: retries 429, 408, 5xx, timeouts and refused connections, waiting what
    /// <c>Retry-After</c> (or <c>retry-after-ms</c>) asks when the answer says, else exponential backoff with jitter,
    /// never longer than <see cref="OpenAiEmbeddingOptions.MaxRetryDelaySeconds"/>; time from <paramref name="timeProvider"/>.
    /// </summary>
    public static ResiliencePipeline RetryPipeline(OpenAiEmbeddingOptions options, TimeProvider timeProvider, Action? onRetry = null) =>
        options.MaxRetries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(options.MaxRetryDelaySeconds),
                ShouldHandle = new PredicateBuilder().Handle<ClientResultException>(e => e.Status is 408 or 429 or >= 500 or 0).Handle<HttpRequestException>().Handle<TimeoutException>()
                    .Handle<TaskCanceledException>(),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Exception) is { } wait
                    ? TimeSpan.FromSeconds(Math.Min(wait.TotalSeconds, options.MaxRetryDelaySeconds))
                    : (TimeSpan?)null),
                OnRetry = _ =>
                {
                    onRetry?.Invoke();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    /// <summary>The wait a 429 or 503 asked for, from <c>retry-after-ms</c> or <c>Retry-After</c> (seconds or a date).</summary>
    public static TimeSpan? RetryAfter(Exception? exception)
    {
        if (exception is not ClientResultException { } e || e.GetRawResponse() is not { } response)
        {
            return null;
        }

        if (response.Headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        if (response.Headers.TryGetValue("Retry-After", out var after))
        {
            if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(after, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return at - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero;
            }
        }

        return null;
    }
}

/// <summary>The endpoint's vectors do not have the configured length: not worth retrying, and no post can be stored with them.</summary>
public sealed class EmbeddingDimensionException(string message) : InvalidOperationException(message);
