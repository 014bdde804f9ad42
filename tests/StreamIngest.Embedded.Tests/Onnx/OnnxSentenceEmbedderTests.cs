using System.Numerics.Tensors;
using StreamIngest.Embedded.Onnx;

namespace StreamIngest.Embedded.Tests.Onnx;

[Collection(EmbedderCollection.Name)]
public class OnnxSentenceEmbedderTests(EmbedderFixture fixture)
{
    [Fact]
    public void Embed_AnyText_Gives384UnitVectors()
    {
        var vectors = fixture.Embedder.Embed(["flood warning downtown", "", "a"]);

        Assert.Equal(384, fixture.Embedder.Dimensions);
        Assert.All(vectors, v => Assert.Equal(1f, TensorPrimitives.Norm(v), 3));
    }

    [Fact]
    public void Embed_Paraphrases_AreCloserThanUnrelatedText()
    {
        var v = fixture.Embedder.Embed([
            "The river burst its banks and streets downtown are under water",
            "Downtown flooding after the river overflowed",
            "My sourdough bread came out great this morning",
        ]);

        var related = TensorPrimitives.Dot(v[0], v[1]);
        var unrelated = TensorPrimitives.Dot(v[0], v[2]);
        Assert.True(related > 0.6, $"paraphrase similarity {related}");
        Assert.True(unrelated < 0.2, $"unrelated similarity {unrelated}");
    }

    [Fact]
    public void Embed_Batch_EqualsOneByOne_WhateverTheLengthOrder()
    {
        string[] texts = ["short", "a somewhat longer sentence about the transit strike in the city", "mid length text here"];

        var batch = fixture.Embedder.Embed(texts);
        var single = texts.Select(t => fixture.Embedder.Embed([t])[0]).ToArray();

        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(TensorPrimitives.Dot(batch[i], single[i]) > 0.9999f, $"text {i} differs between batch and single");
        }
    }

    [Fact]
    public async Task EmbedQuery_ManyAtOnce_TakeTurnsAndEachGetsItsOwnVector()
    {
        // More questions at once than the embedder runs at a time (one per core): the rest wait their turn and every
        // caller still gets exactly the vector its question gets alone.
        var questions = Enumerable.Range(0, 4 * Environment.ProcessorCount + 3).Select(i => $"what is happening with road closures {i}").ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a turn never handed back fails, not hangs
        var alone = new List<float[]>();
        foreach (var q in questions)
        {
            alone.Add(await fixture.Embedder.EmbedQueryAsync(q, timeout.Token));
        }

        var together = await Task.WhenAll(questions.Select(q => Task.Run(() => fixture.Embedder.EmbedQueryAsync(q, timeout.Token))));

        for (var i = 0; i < questions.Length; i++)
        {
            Assert.Equal(alone[i], together[i]);
        }
    }

    [Theory]
    [InlineData(1)] // one run, on the calling thread
    [InlineData(40)] // several runs, over the cores
    public void Embed_AlreadyCancelled_Throws(int texts)
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => fixture.Embedder.Embed([.. Enumerable.Range(0, texts).Select(i => $"post {i}")], cancelled.Token));
    }

    [Fact]
    public async Task EmbedQuery_CancelledWhileWaiting_ThrowsAndTheNextQuestionIsStillAnswered()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Embedder.EmbedQueryAsync("road closures", cancelled.Token));

        var vector = await fixture.Embedder.EmbedQueryAsync("road closures", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(fixture.Embedder.Dimensions, vector.Length);
    }

    [Fact]
    public void Tokenize_LongText_IsTruncatedToMaxTokensEndingWithSep()
    {
        var ids = fixture.Embedder.Tokenize(string.Join(' ', Enumerable.Repeat("flooding", 500)));

        Assert.Equal(128, ids.Count);
        Assert.Equal(101, ids[0]);  // [CLS]
        Assert.Equal(102, ids[^1]); // [SEP]
    }
}

/// <summary>Snowflake arctic-embed-xs through the same embedder: [CLS] pooling and a query prefix.</summary>
public sealed class ArcticXsEmbedderTests : IDisposable
{
    private readonly OnnxSentenceEmbedder _embedder = new(new EmbeddingOptions { Model = "arctic-xs" });

    [Fact]
    public void Model_IsArcticXs_With384UnitVectors()
    {
        var vectors = _embedder.Embed(["flood warning downtown", ""]);

        Assert.Equal("Snowflake/snowflake-arctic-embed-xs", _embedder.Model);
        Assert.Equal(384, _embedder.Dimensions);
        Assert.All(vectors, v => Assert.Equal(1f, TensorPrimitives.Norm(v), 3));
    }

    [Fact]
    public async Task EmbedQuery_AddsTheQueryPrefix_AndAQuestionFindsItsAnswerBeforeUnrelatedText()
    {
        const string question = "Which roads were damaged by the flood?";
        var q = await _embedder.EmbedQueryAsync(question, CancellationToken.None);
        var passages = _embedder.Embed([
            "Highway 9 and the old bridge are washed out after the flood, avoid the area",
            "Great game last night, the team played really well",
        ]);

        Assert.Equal(_embedder.Embed([SentenceModel.ArcticXs.QueryPrefix + question])[0], q);
        Assert.NotEqual(_embedder.Embed([question])[0], q);
        Assert.True(TensorPrimitives.Dot(q, passages[0]) > TensorPrimitives.Dot(q, passages[1]) + 0.05f);
    }

    [Fact]
    public void For_UnknownModel_NamesTheSetting()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SentenceModel.For("bert"));

        Assert.Contains("Embedding:Model", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _embedder.Dispose();
}

/// <summary>The int8 graph <see cref="DynamicInt8Quantizer"/> makes: the same vector space as fp32, on real posts.</summary>
public sealed class Int8EmbedderTests
{
    [Theory]
    [InlineData("minilm", true, 24)] // 6 layers x (Q, K and V packed in one, attention output, feed-forward up) + 4 smoothed down-projections + the first two (outliers) in blocks
    [InlineData("minilm", false, 18)] // the 6 down-projections stay fp32
    [InlineData("arctic-xs", true, 24)] // 6 layers x 4: 3 down-projections smoothed, 3 whose inputs pass the outlier limit in blocks
    public void Quantize_KeepsCosineToFp32AboveNinetyNineHundredthsOnRealPosts(string model, bool narrowing, int matrices)
    {
        var texts = System.IO.File.ReadLines(System.IO.Path.Combine(StreamIngest.Tests.TestPaths.RepoRoot, "src", "StreamIngest.Host", "samples", "demo.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!)
            .Take(200)
            .ToArray();
        using var fp32 = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = model, Precision = "fp32" });
        using var int8 = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = model, Precision = "int8", QuantizeNarrowing = narrowing });

        var a = fp32.Embed(texts);
        var b = int8.Embed(texts);

        var cosines = a.Zip(b, (x, y) => TensorPrimitives.Dot(x, y)).ToArray();
        Console.WriteLine($"{model} int8 ({int8.QuantizedMatrices} matrices, narrowing {narrowing}) vs fp32 on {texts.Length} demo posts: min cosine {cosines.Min():F4}, mean {cosines.Average():F4}");
        Assert.Equal(0, fp32.QuantizedMatrices);
        Assert.Equal(matrices, int8.QuantizedMatrices);
        Assert.True(cosines.Min() >= 0.99f, $"lowest cosine int8 vs fp32: {cosines.Min()}");
        Assert.True(cosines.Min() < 0.99999f, "the int8 graph gave the fp32 vectors: nothing was quantised");
    }

    [Theory]
    [InlineData("minilm")]
    [InlineData("arctic-xs")]
    public void FusedAttention_GivesTheUnfusedVectors(string model)
    {
        string[] texts = ["short", "a somewhat longer sentence about the transit strike in the city!!! 🚨🚨", "mid length text here", ""];
        using var plain = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = model, Precision = "fp32", FuseAttention = false });
        using var fused = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = model, Precision = "fp32" });

        var a = plain.Embed(texts);
        var b = fused.Embed(texts); // one run of four texts of different lengths: the padding mask is applied

        Assert.Equal(0, plain.FusedAttention);
        Assert.Equal(6, fused.FusedAttention);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(TensorPrimitives.Dot(a[i], b[i]) > 0.99999f, $"text {i}: cosine {TensorPrimitives.Dot(a[i], b[i])}");
        }
    }

    [Fact]
    public void QuantizeBlocks_StoresEachBlocksCodesAroundTheDefaultZeroPoint()
    {
        // W is K × N row-major; MatMulNBits wants, per output column, K's blocks in order: code = round(w / scale) + 128.
        const int k = 64, n = 3, block = 32;
        var w = new float[k * n];
        for (var i = 0; i < w.Length; i++)
        {
            w[i] = MathF.Sin(i * 0.37f) * (i % n + 1);
        }

        w[5 * n + 1] = 40f; // an outlier in column 1's first block: that block's scale only

        var (codes, scales) = DynamicInt8Quantizer.QuantizeBlocks(w, k, n, block);

        Assert.Equal(n * k, codes.Length);
        Assert.Equal(n * (k / block), scales.Length);
        Assert.Equal(40f / 127, scales[1 * 2 + 0], 6);
        Assert.True(scales[1 * 2 + 1] < 2.1f / 127, $"column 1's second block took the outlier's scale: {scales[1 * 2 + 1]}");
        for (var c = 0; c < n; c++)
        {
            for (var r = 0; r < k; r++)
            {
                var scale = scales[c * 2 + r / block];
                var back = (codes[c * k + r] - 128) * scale;
                Assert.True(Math.Abs(back - w[r * n + c]) <= scale / 2 + 1e-6f, $"w[{r},{c}] = {w[r * n + c]} came back as {back}");
            }
        }
    }

    [Fact]
    public void Int8_PostVector_DoesNotDependOnWhichPostsShareItsBatch()
    {
        // Activation scales are measured per ONNX run: a post batched with longer or louder posts would get another
        // scale, so int8 runs one post at a time.
        string[] texts = ["short", "a somewhat longer sentence about the transit strike in the city!!! 🚨🚨", "mid length text here"];
        using var int8 = new OnnxSentenceEmbedder(new EmbeddingOptions { Precision = "int8", MaxBatch = 8 });

        var batch = int8.Embed(texts);
        var single = texts.Select(t => int8.Embed([t])[0]).ToArray();

        Assert.Equal(1, int8.PostsPerRun);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(batch[i], single[i]);
        }
    }

    [Fact]
    public void Smooth_MovesEachInputChannelsRangeIntoTheWeightsWithoutChangingTheProduct()
    {
        // 3 input channels x 2 outputs; channel 1 is the outlier (activations up to 40).
        float[] w = [0.5f, -0.2f, 0.1f, 0.3f, -0.4f, 0.25f];
        float[] original = [.. w];
        float[] activationMax = [1f, 40f, 2f];
        float[] x = [0.7f, -38f, 1.5f];

        var inverse = DynamicInt8Quantizer.Smooth(w, rows: 3, columns: 2, activationMax);

        for (var c = 0; c < 2; c++)
        {
            var before = Enumerable.Range(0, 3).Sum(r => x[r] * original[r * 2 + c]);
            var after = Enumerable.Range(0, 3).Sum(r => x[r] * inverse[r] * w[r * 2 + c]);
            Assert.Equal(before, after, 5);
        }

        // The outlier channel is divided the most: its smoothed range is far closer to the others'.
        var smoothed = activationMax.Select((m, r) => m * inverse[r]).ToArray();
        Assert.True(smoothed.Max() / smoothed.Min() < activationMax.Max() / activationMax.Min() / 4, string.Join(", ", smoothed));
        Assert.Equal(40f / 1.5f, DynamicInt8Quantizer.OutlierRatio([1f, 40f, 1.5f]), 4);
    }

    [Fact]
    public void QuantizeColumns_EachColumnGetsItsOwnScaleAndRoundTripsWithinHalfAStep()
    {
        float[] w = [0.5f, -100f, -0.25f, 50f]; // 2 x 2, columns [0.5, -0.25] and [-100, 50]

        var (q, scales) = DynamicInt8Quantizer.QuantizeColumns(w, rows: 2, columns: 2);

        Assert.Equal(0.5f / 127, scales[0], 6);
        Assert.Equal(100f / 127, scales[1], 6);
        Assert.Equal([127, -127, -64, 64], q.Select(v => (int)v));
        for (var i = 0; i < w.Length; i++)
        {
            Assert.True(Math.Abs(q[i] * scales[i % 2] - w[i]) <= scales[i % 2] / 2 + 1e-6f);
        }
    }
}
