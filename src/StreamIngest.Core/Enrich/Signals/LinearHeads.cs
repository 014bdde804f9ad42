using System.Text.Json.Serialization;

namespace StreamIngest.Enrich.Signals;

/// <summary>A linear head on the post embedding: logits = W·x + b (one row per class; one row for a binary or regression head).</summary>
public sealed class LinearHead
{
    public required string[] Classes { get; init; }

    public required float[][] Weights { get; init; }

    public required float[] Bias { get; init; }

    /// <summary>When above zero, the head also reads the post's words hashed into 2^bits buckets (<see cref="SentimentNgrams"/>).</summary>
    public int BucketBits { get; init; }

    /// <summary>One row of 2^<see cref="BucketBits"/> weights per class, or none.</summary>
    public float[][]? BucketWeights { get; init; }

    /// <summary>Decision threshold for a binary head (probability of the positive class).</summary>
    public double Threshold { get; init; } = 0.5;

    public double[] Logits(ReadOnlySpan<float> x)
    {
        var logits = new double[Weights.Length];
        for (var c = 0; c < Weights.Length; c++)
        {
            logits[c] = System.Numerics.Tensors.TensorPrimitives.Dot(Weights[c].AsSpan(), x) + Bias[c];
        }

        return logits;
    }

    /// <summary>The logits with the hashed word buckets of the post (<see cref="SentimentNgrams.Buckets"/>) added.</summary>
    public double[] Logits(ReadOnlySpan<float> x, ReadOnlySpan<int> buckets)
    {
        var logits = Logits(x);
        if (BucketWeights is { } rows)
        {
            var v = SentimentNgrams.Weight(buckets.Length);
            for (var c = 0; c < rows.Length; c++)
            {
                foreach (var j in buckets)
                {
                    logits[c] += rows[c][j] * v;
                }
            }
        }

        return logits;
    }

    /// <summary>Class probabilities (softmax) for a multi-class head.</summary>
    public double[] Probabilities(ReadOnlySpan<float> x) => Softmax(Logits(x));

    /// <summary>Class probabilities (softmax) for a multi-class head that also reads the post's words.</summary>
    public double[] Probabilities(ReadOnlySpan<float> x, string text) =>
        BucketWeights is null ? Probabilities(x) : Probabilities(x, SentimentNgrams.Buckets(text, BucketBits));

    /// <summary>Class probabilities with the post's word buckets already found (<see cref="SentimentNgrams.Buckets"/>).</summary>
    public double[] Probabilities(ReadOnlySpan<float> x, ReadOnlySpan<int> buckets) => Softmax(Logits(x, buckets));

    private static double[] Softmax(double[] z)
    {
        var max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        var sum = e.Sum();
        return [.. e.Select(v => v / sum)];
    }

    /// <summary>Probability of the positive class for a binary (one-row, logistic) head.</summary>
    public double Probability(ReadOnlySpan<float> x) => 1 / (1 + Math.Exp(-Logits(x)[0]));

    /// <summary>A regression head's value, clamped to [-1, 1].</summary>
    public double Value(ReadOnlySpan<float> x) => Math.Clamp(Logits(x)[0], -1, 1);
}

/// <summary>The trained heads and what made them (written by <c>train signals</c>, read at start).</summary>
public sealed class SignalModel
{
    /// <summary>The embedding model the heads were trained on; they are only valid on its vectors.</summary>
    public required string EmbeddingModel { get; init; }

    public required Dictionary<string, string> Data { get; init; }

    public required Dictionary<string, Dictionary<string, double>> Scores { get; init; }

    /// <summary>The sentiment head reads the embedding followed by <see cref="SentimentLexicon.Features"/>.</summary>
    public bool SentimentReadsLexicon { get; init; }

    public required LinearHead Sentiment { get; init; }

    public required LinearHead Finance { get; init; }

    public required LinearHead Offensive { get; init; }

    public required LinearHead Hate { get; init; }

    /// <summary>The heads shipped for one embedding model (its <c>Embedding:Model</c> key): <c>models/signals-{key}.json</c>.</summary>
    public static string BundledPathFor(string embeddingKey) => Path.Combine(AppContext.BaseDirectory, "models", $"signals-{embeddingKey}.json");

    public static SignalModel Load(string path) =>
        System.Text.Json.JsonSerializer.Deserialize<SignalModel>(File.ReadAllText(path), Model.PostJson.Options)
        ?? throw new InvalidDataException($"{path} holds no signal model");
}
