using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static StreamIngest.Embedded.Onnx.OnnxProtos;

namespace StreamIngest.Embedded.Onnx;

/// <summary>
/// Dynamic int8 quantisation of an ONNX graph's weight matrices, done by the project's own code (OnnxSharp for the
/// graph): every <c>MatMul</c> whose right-hand side is a constant 2-D float matrix becomes
/// <c>DynamicQuantizeLinear(A) → MatMulInteger(A_q, W_q, A_zp) → Cast → Mul(A_scale · W_scale)</c>, the pattern
/// ONNX Runtime's own <c>quantize_dynamic</c> writes and its optimiser fuses into one int8 kernel
/// (<c>MatMulIntegerToFloat</c>). Weights are symmetric int8 with one scale per output column; activations are
/// quantised per run (uint8, asymmetric). Matrix products of two activations (attention) stay in float.
/// <para>
/// Matrices that narrow (more inputs than outputs: a transformer's feed-forward down-projection) read the GELU
/// output, whose few outlier channels make one activation scale per tensor too coarse: quantised plainly they took
/// the lowest cosine to fp32 on 200 demo posts from 0.9935 to 0.9855. With measured channel ranges (see
/// <see cref="WithCalibrationOutputs"/>) they are quantised after <b>smoothing</b> (Xiao et al. 2023,
/// "SmoothQuant", arXiv:2211.10438): each input channel j is divided by sⱼ (<see cref="Migration"/>) and the
/// weight row multiplied by it, X·W = (X ÷ s)·(s ⊙ W), which moves the outliers' range into the weights, where
/// each column has its own scale. One whose outliers are too wide to smooth (<see cref="MaxOutlierRatio"/>) runs as
/// ONNX Runtime's <c>MatMulNBits</c> instead: 8-bit weights in blocks of <see cref="OutlierBlockSize"/>, activations
/// quantised per token and block inside the kernel (MiniLM's first two down-projections; they had stayed in fp32 and
/// cost a sixth of a short text's run). Without ranges, the narrowing matrices stay in float.
/// </para>
/// </summary>
public static class DynamicInt8Quantizer
{
    /// <summary>
    /// The model with the inputs of its narrowing weight matrices added as graph outputs, and their names: run it
    /// on sample text, take each channel's largest |value|, and pass those to <see cref="Quantize"/>.
    /// </summary>
    public static (byte[] Model, string[] Tensors) WithCalibrationOutputs(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var initializers = proto.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var tensors = proto.Graph.Node
            .Where(n => QuantizableWeight(n, initializers) is { } w && Narrows(w))
            .Select(n => n.Input[0])
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        foreach (var name in tensors)
        {
            proto.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }

        return (proto.ToByteArray(), tensors);
    }

    /// <summary>Returns the quantised model's bytes and how many matrices were quantised.</summary>
    /// <param name="channelMax">Per input tensor of a narrowing matrix, each channel's largest |value| on sample text;
    /// those matrices are smoothed and quantised, or quantised in blocks when their outliers are too wide to smooth
    /// (<see cref="MaxOutlierRatio"/>); without it they stay in float.</param>
    public static (byte[] Model, int Quantized) Quantize(byte[] model, IReadOnlyDictionary<string, float[]>? channelMax = null)
    {
        var blockwise = false;
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var uses = graph.Node.SelectMany(n => n.Input).GroupBy(i => i, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var nodes = new List<NodeProto>(graph.Node.Count + 64);
        var quantized = 0;
        var activations = new Dictionary<string, (string Q, string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            float[]? range = null;
            if (QuantizableWeight(node, initializers) is not { } weight)
            {
                nodes.Add(node);
                continue;
            }

            var name = string.IsNullOrEmpty(node.Name) ? $"matmul_{quantized}" : node.Name;
            if (Narrows(weight) && (channelMax is null || !channelMax.TryGetValue(node.Input[0], out range) || OutlierRatio(range) > MaxOutlierRatio))
            {
                if (range is not null && weight.Dims[0] % OutlierBlockSize == 0)
                {
                    nodes.Add(Blockwise(graph, node, weight, name, OutlierBlockSize));
                    if (--uses[node.Input[1]] == 0)
                    {
                        graph.Initializer.Remove(weight);
                    }

                    quantized++;
                    blockwise = true;
                }
                else
                {
                    nodes.Add(node);
                }

                continue;
            }

            int rows = (int)weight.Dims[0], columns = (int)weight.Dims[1];
            var w = Floats(weight);
            var input = node.Input[0];
            if (range is not null)
            {
                var inverse = Smooth(w, rows, columns, range);
                graph.Initializer.Add(Tensor($"{name}_smooth", TensorProto.Types.DataType.Float, [rows], MemoryMarshal.AsBytes(inverse.AsSpan())));
                nodes.Add(Node("Mul", $"{name}_smoothing", [input, $"{name}_smooth"], [$"{name}_A_smoothed"]));
                input = $"{name}_A_smoothed";
            }

            var (q, scales) = QuantizeColumns(w, rows, columns);
            graph.Initializer.Add(Tensor($"{name}_W_q", TensorProto.Types.DataType.Int8, weight.Dims, MemoryMarshal.AsBytes(q.AsSpan())));
            graph.Initializer.Add(Tensor($"{name}_W_scale", TensorProto.Types.DataType.Float, [weight.Dims[1]], MemoryMarshal.AsBytes(scales.AsSpan())));
            // One activation quantisation per tensor: Q, K and V read the same input and share it.
            if (!activations.TryGetValue(input, out var a))
            {
                a = ($"{name}_A_q", $"{name}_A_scale", $"{name}_A_zp");
                activations[input] = a;
                nodes.Add(Node("DynamicQuantizeLinear", $"{name}_quant", [input], [a.Q, a.Scale, a.ZeroPoint]));
            }

            nodes.Add(Node("MatMulInteger", $"{name}_int", [a.Q, $"{name}_W_q", a.ZeroPoint], [$"{name}_Y_int"]));
            var cast = Node("Cast", $"{name}_cast", [$"{name}_Y_int"], [$"{name}_Y_float"]);
            cast.Attribute.Add(Int("to", (long)TensorProto.Types.DataType.Float));
            nodes.Add(cast);
            nodes.Add(Node("Mul", $"{name}_scale", [a.Scale, $"{name}_W_scale"], [$"{name}_scale_out"]));
            nodes.Add(Node("Mul", $"{name}_out", [$"{name}_Y_float", $"{name}_scale_out"], [node.Output[0]]));
            if (--uses[node.Input[1]] == 0)
            {
                graph.Initializer.Remove(weight);
            }

            quantized++;
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        if (blockwise)
        {
            ImportMicrosoftDomain(proto);
        }

        return (proto.ToByteArray(), quantized);
    }

    /// <summary>
    /// <c>MatMulNBits</c> (com.microsoft): 8-bit weights in blocks of <paramref name="blockSize"/> along K (one scale per
    /// block and output column) and <c>accuracy_level</c> 4, under which the kernel quantises the activations to int8
    /// per row and block: an outlier channel coarsens only its own block of one token, not the whole tensor.
    /// </summary>
    private static NodeProto Blockwise(GraphProto graph, NodeProto node, TensorProto weight, string name, int blockSize)
    {
        int k = (int)weight.Dims[0], n = (int)weight.Dims[1];
        var (codes, scales) = QuantizeBlocks(Floats(weight), k, n, blockSize);
        graph.Initializer.Add(Tensor($"{name}_B_q", TensorProto.Types.DataType.Uint8, [n, k / blockSize, blockSize], codes));
        graph.Initializer.Add(Tensor($"{name}_B_scale", TensorProto.Types.DataType.Float, [n * (k / blockSize)], MemoryMarshal.AsBytes(scales.AsSpan())));
        var q = Node("MatMulNBits", $"{name}_nbits", [node.Input[0], $"{name}_B_q", $"{name}_B_scale"], [node.Output[0]], MicrosoftDomain);
        q.Attribute.Add(Int("K", k));
        q.Attribute.Add(Int("N", n));
        q.Attribute.Add(Int("bits", 8));
        q.Attribute.Add(Int("block_size", blockSize));
        q.Attribute.Add(Int("accuracy_level", 4));
        return q;
    }

    /// <summary>
    /// W (K × N, row-major) as <c>MatMulNBits</c> stores 8-bit weights: for each output column and block of K, the
    /// codes round(w ÷ scale) + 128 (its default zero point), scale = the block's max |w| ÷ 127.
    /// </summary>
    internal static (byte[] Codes, float[] Scales) QuantizeBlocks(float[] w, int k, int n, int blockSize)
    {
        var blocks = k / blockSize;
        var codes = new byte[n * k];
        var scales = new float[n * blocks];
        for (var c = 0; c < n; c++)
        {
            for (var b = 0; b < blocks; b++)
            {
                var max = 0f;
                for (var i = 0; i < blockSize; i++)
                {
                    max = Math.Max(max, Math.Abs(w[(b * blockSize + i) * n + c]));
                }

                var scale = max == 0 ? 1 : max / 127f;
                scales[c * blocks + b] = scale;
                for (var i = 0; i < blockSize; i++)
                {
                    codes[(c * blocks + b) * blockSize + i] = (byte)(Math.Clamp(MathF.Round(w[(b * blockSize + i) * n + c] / scale), -127, 127) + 128);
                }
            }
        }

        return (codes, scales);
    }

    /// <summary>A <c>MatMul</c>'s right-hand side when it is a constant 2-D float matrix; otherwise null.</summary>
    private static TensorProto? QuantizableWeight(NodeProto node, Dictionary<string, TensorProto> initializers) =>
        node.OpType == "MatMul"
        && initializers.TryGetValue(node.Input[1], out var weight)
        && weight.Dims.Count == 2
        && weight.DataType == (int)TensorProto.Types.DataType.Float
            ? weight
            : null;

    /// <summary>More inputs than outputs (rows than columns): a feed-forward down-projection.</summary>
    private static bool Narrows(TensorProto weight) => weight.Dims[0] > weight.Dims[1];

    /// <summary>
    /// SmoothQuant's migration strength α: sⱼ = max|Xⱼ|^α ÷ max|Wⱼ,·|^(1−α). Lowest cosine to fp32 on 200 demo
    /// posts with every down-projection but the first quantised: α 0.5 → 0.9879, 0.65 → 0.9907, 0.75 → 0.9919.
    /// </summary>
    internal const float Migration = 0.75f;

    /// <summary>
    /// A narrowing matrix whose input's widest channel spans more than this many times the median channel stays in
    /// fp32: smoothing cannot flatten such outliers without crushing the other channels. On MiniLM the six
    /// down-projections' inputs measure 17.8, 13.0, 11.1, 9.4, 4.8 and 3.1, and quantising only the first took the
    /// lowest cosine on 200 demo posts to 0.9902 (α 0.75; 0.9837 at α 0.5), the others 0.9918–0.9933 each. With
    /// one post per run (<c>OnnxSentenceEmbedder.PostsPerRun</c>) a limit of 15 (first layer kept) gave 2.38× fp32
    /// but a lowest cosine of 0.9895 on <c>bench ingest</c>'s 500 posts; 12 (first two kept) gives 2.11× and 0.9913.
    /// </summary>
    internal const float MaxOutlierRatio = 12f;

    /// <summary>
    /// K per block of a <c>MatMulNBits</c> matrix. Measured on 200 questions (median per question over 5 and 15
    /// alternating rounds in one process, attention fused) and the lowest cosine to fp32 on 300 demo posts: those two
    /// matrices in fp32 2.50 / 2.29 ms, 0.9932; in blocks of 32 2.19 / 2.12 ms, 0.9935; blocks of 128 2.26 ms, 0.9922.
    /// All six down-projections in blocks instead of smoothing: 0.9944, but 2.83 ms against 2.47 in that run.
    /// </summary>
    internal const int OutlierBlockSize = 32;

    /// <summary>The widest channel's range over the median channel's.</summary>
    internal static float OutlierRatio(float[] channelMax)
    {
        var sorted = channelMax.Order().ToArray();
        return sorted[^1] / Math.Max(sorted[sorted.Length / 2], 1e-6f);
    }

    /// <summary>
    /// Multiplies each weight row j by sⱼ (<see cref="Migration"/>) in place and returns 1/sⱼ, the factor the
    /// activation's channel j is multiplied by.
    /// </summary>
    internal static float[] Smooth(float[] w, int rows, int columns, float[] activationMax)
    {
        if (activationMax.Length != rows)
        {
            throw new ArgumentException($"{activationMax.Length} channel ranges for a matrix of {rows} rows", nameof(activationMax));
        }

        var inverse = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            var row = w.AsSpan(r * columns, columns);
            var wMax = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row);
            var s = activationMax[r] > 0 && wMax > 0 ? MathF.Pow(activationMax[r], Migration) / MathF.Pow(wMax, 1 - Migration) : 1f;
            s = Math.Clamp(s, 1e-3f, 1e3f);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, s, row);
            inverse[r] = 1 / s;
        }

        return inverse;
    }

    /// <summary>Symmetric int8 per output column: scale = max |w| / 127, zero point 0.</summary>
    internal static (sbyte[] Q, float[] Scales) QuantizeColumns(float[] w, int rows, int columns)
    {
        var scales = new float[columns];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                scales[c] = Math.Max(scales[c], Math.Abs(w[r * columns + c]));
            }
        }

        for (var c = 0; c < columns; c++)
        {
            scales[c] = scales[c] == 0 ? 1 : scales[c] / 127f;
        }

        var q = new sbyte[w.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                q[r * columns + c] = (sbyte)Math.Clamp(MathF.Round(w[r * columns + c] / scales[c]), -127, 127);
            }
        }

        return (q, scales);
    }
}
