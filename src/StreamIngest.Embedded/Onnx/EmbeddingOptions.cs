using System.ComponentModel.DataAnnotations;
using StreamIngest.Embed;

namespace StreamIngest.Embedded.Onnx;

public sealed class EmbeddingOptions
{
    public const string Section = "Embedding";

    /// <summary>
    /// Which local sentence model embeds posts and queries: <c>minilm</c> (all-MiniLM-L6-v2) or <c>arctic-xs</c>
    /// (Snowflake arctic-embed-xs). Both are 384-dimensional; vectors from one cannot be compared with the other's,
    /// so the store records the model and a change re-embeds.
    /// </summary>
    [RegularExpression("^(minilm|arctic-xs)$", ErrorMessage = "Embedding:Model must be 'minilm' or 'arctic-xs'.")]
    public string Model { get; set; } = SentenceModel.MiniLm.Key;

    /// <summary>
    /// <c>int8</c> (default): the packaged graph's weight matrices quantised at load by <see cref="DynamicInt8Quantizer"/>
    /// (dynamic int8, the same vector space: cosine to fp32 ≥ 0.99), about 2× fp32's posts per second on 2 cores with
    /// relevance within 1% and the same sentiment score (<c>bench ingest</c>, <c>bench relevance</c>, <c>train signals</c>);
    /// loading takes about 0.6 s longer (calibration). <c>fp32</c>: the packaged graph as is.
    /// </summary>
    /// <summary>
    /// The signal heads (sentiment, finance, offensive, hate) to load: a file written by <c>train signals</c> for the
    /// embedder in use. Unset: the heads shipped for <see cref="Model"/>, which fit only the local models' vectors; with
    /// <c>Embedding:Provider=openai</c>, train heads on the endpoint's vectors (<c>train signals --provider openai</c>)
    /// and point this at the file.
    /// </summary>
    public string? SignalsPath { get; set; }

    [RegularExpression("^(fp32|int8)$", ErrorMessage = "Embedding:Precision must be 'fp32' or 'int8'.")]
    public string Precision { get; set; } = "int8";

    /// <summary>
    /// With <c>int8</c>: also quantise the matrices that narrow (the feed-forward down-projections), smoothed with
    /// activation ranges measured at load on a few dozen built-in sentences (<see cref="DynamicInt8Quantizer"/>).
    /// False keeps them in fp32.
    /// </summary>
    public bool QuantizeNarrowing { get; set; } = true;

    /// <summary>
    /// Run each layer's self-attention as one fused kernel (<see cref="AttentionFusion"/>): the same vectors (cosine to
    /// the unfused graph 1.000000 in fp32) from about a third fewer kernel calls. False runs the graph as packaged.
    /// </summary>
    public bool FuseAttention { get; set; } = true;

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

    /// <summary>Tokens per post (incl. [CLS]/[SEP]); longer posts are truncated. The models were trained at ≤ 256 (MiniLM) and 512 (Arctic).</summary>
    [Range(8, 256)]
    public int MaxTokens { get; set; } = 128;
}
