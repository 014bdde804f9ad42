using Google.Protobuf;
using Onnx;
using static StreamIngest.Embedded.Onnx.OnnxProtos;

namespace StreamIngest.Embedded.Onnx;

/// <summary>
/// Rewrites a BERT-style export's self-attention, written out as about forty small nodes per layer (Shape, Gather,
/// Concat and Reshape for the heads, three Transposes, Q·Kᵀ, Div by √d, Add of the padding mask, Softmax, ·V,
/// Transpose and Reshape back), into one ONNX Runtime <c>MultiHeadAttention</c> (com.microsoft) that reads the
/// projected Q, K and V and the padding mask directly. When Q, K and V are three constant-weight projections of one
/// input, they become one packed product, bias add and Split; everything after the attention is left as it is, and a
/// layer whose nodes do not match the pattern exactly is left alone. The result is
/// the same computation (per row: a post's vector never depends on the other posts of its run), in fewer, larger
/// kernels: on short texts the small nodes' own overhead was a third of a run (ONNX Runtime's profiler, int8 MiniLM,
/// 12-token questions).
/// </summary>
public static class AttentionFusion
{
    private const string MaskName = "attention_mask_int32_for_mha";

    /// <summary>Returns the rewritten model and how many attention blocks were fused (0: the model is returned as is).</summary>
    public static (byte[] Model, int Fused) Fuse(byte[] model, string maskInput = "attention_mask")
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        if (!graph.Input.Any(i => i.Name == maskInput))
        {
            return (model, 0);
        }

        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producer[output] = node;
            }

            foreach (var input in node.Input)
            {
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);
            }
        }

        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var opset = proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 13;
        var replacements = new Dictionary<NodeProto, NodeProto[]>(); // the block's last node → the nodes that replace the block
        foreach (var softmax in graph.Node.Where(n => n.OpType == "Softmax"))
        {
            if (Match(softmax, producer, consumers, initializers) is not { } block)
            {
                continue;
            }

            var name = $"{block.Output.Name}_mha";
            var before = new List<NodeProto>();
            string[] qkv = [block.Q, block.K, block.V];
            if (Projections(qkv, producer, initializers) is { } projections)
            {
                before.AddRange(Packed(graph, name, projections, qkv = [$"{name}_q", $"{name}_k", $"{name}_v"], opset));
            }

            var fused = Node("MultiHeadAttention", name, [.. qkv, "", MaskName], [block.Output.Output[0]], MicrosoftDomain);
            fused.Attribute.Add(Int("num_heads", block.Heads));
            fused.Attribute.Add(new AttributeProto { Name = "scale", Type = AttributeProto.Types.AttributeType.Float, F = block.Scale });
            replacements[block.Output] = [.. before, fused];
        }

        if (replacements.Count == 0)
        {
            return (model, 0);
        }

        var cast = Node("Cast", MaskName, [maskInput], [MaskName]);
        cast.Attribute.Add(Int("to", (long)TensorProto.Types.DataType.Int32));
        var nodes = new List<NodeProto>(graph.Node.Count) { cast };
        nodes.AddRange(graph.Node.SelectMany(n => replacements.GetValueOrDefault(n, [n])));
        graph.Node.Clear();
        graph.Node.AddRange(OutputPruning.WithoutDeadNodes(nodes, graph.Output.Select(o => o.Name)));
        OutputPruning.RemoveUnusedInitializers(graph);
        ImportMicrosoftDomain(proto);

        return (proto.ToByteArray(), replacements.Count);
    }

    /// <summary>A projection <c>Add(MatMul(X, W), b)</c> with constant W (K × D) and b (D).</summary>
    private sealed record Projection(string X, TensorProto Weight, TensorProto Bias);

    /// <summary>Q, K and V's projections when all three are constant-weight projections of the same input; otherwise null.</summary>
    private static Projection[]? Projections(string[] outputs, Dictionary<string, NodeProto> producer, Dictionary<string, TensorProto> initializers)
    {
        var found = new Projection[outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            if (!producer.TryGetValue(outputs[i], out var add) || add.OpType != "Add" || add.Input.Count != 2)
            {
                return null;
            }

            var (biasName, productName) = initializers.ContainsKey(add.Input[0]) ? (add.Input[0], add.Input[1]) : (add.Input[1], add.Input[0]);
            if (!initializers.TryGetValue(biasName, out var bias) || bias.Dims.Count != 1
                || !producer.TryGetValue(productName, out var matmul) || matmul.OpType != "MatMul"
                || !initializers.TryGetValue(matmul.Input[1], out var weight) || weight.Dims.Count != 2 || weight.Dims[1] != bias.Dims[0]
                || weight.DataType != (int)TensorProto.Types.DataType.Float || bias.DataType != (int)TensorProto.Types.DataType.Float)
            {
                return null;
            }

            found[i] = new Projection(matmul.Input[0], weight, bias);
        }

        return found.All(p => p.X == found[0].X && p.Weight.Dims[0] == found[0].Weight.Dims[0]) ? found : null;
    }

    /// <summary>
    /// The three projections as one: <c>Split(Add(MatMul(X, [Wq | Wk | Wv]), [bq | bk | bv]))</c> into
    /// <paramref name="outputs"/>. One wide matrix product instead of three narrow ones (quantised per output column,
    /// each column keeps the scale it had), and one bias add.
    /// </summary>
    private static NodeProto[] Packed(GraphProto graph, string name, Projection[] projections, string[] outputs, long opset)
    {
        var rows = (int)projections[0].Weight.Dims[0];
        var widths = projections.Select(p => (int)p.Weight.Dims[1]).ToArray();
        var total = widths.Sum();
        var weight = new float[rows * total];
        var bias = new float[total];
        var offset = 0;
        for (var p = 0; p < projections.Length; p++)
        {
            var w = Floats(projections[p].Weight);
            for (var r = 0; r < rows; r++)
            {
                w.AsSpan(r * widths[p], widths[p]).CopyTo(weight.AsSpan(r * total + offset));
            }

            Floats(projections[p].Bias).CopyTo(bias.AsSpan(offset));
            offset += widths[p];
        }

        graph.Initializer.Add(FloatTensor($"{name}_qkv_weight", [rows, total], weight));
        graph.Initializer.Add(FloatTensor($"{name}_qkv_bias", [total], bias));

        var matmul = Node("MatMul", $"{name}_qkv_matmul", [projections[0].X, $"{name}_qkv_weight"], [$"{name}_qkv_product"]);
        var add = Node("Add", $"{name}_qkv_add", [$"{name}_qkv_product", $"{name}_qkv_bias"], [$"{name}_qkv"]);
        var split = Node("Split", $"{name}_qkv_split", [$"{name}_qkv"], outputs);
        split.Attribute.Add(Int("axis", -1));
        var sizes = widths.Select(w => (long)w).ToArray();
        if (opset >= 13)
        {
            // From opset 13 the sizes are an input; before, an attribute (arctic-embed-xs is exported at opset 11).
            graph.Initializer.Add(Tensor($"{name}_qkv_sizes", TensorProto.Types.DataType.Int64, [sizes.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(sizes.AsSpan())));
            split.Input.Add($"{name}_qkv_sizes");
        }
        else
        {
            split.Attribute.Add(new AttributeProto { Name = "split", Type = AttributeProto.Types.AttributeType.Ints, Ints = { sizes } });
        }

        return [matmul, add, split];
    }

    /// <summary>One attention block: the projected Q, K, V tensors, the head count, the score scale and the node whose output is the merged heads.</summary>
    private sealed record Block(string Q, string K, string V, long Heads, float Scale, NodeProto Output);

    /// <summary>
    /// From a Softmax, the pattern <c>Softmax(Add(Div(MatMul(Transpose(Reshape(Q)), Transpose(Reshape(K))), c), mask))</c>
    /// followed by <c>Reshape(Transpose(MatMul(·, Transpose(Reshape(V)))))</c>, each intermediate used once (apart from Shape nodes).
    /// </summary>
    private static Block? Match(NodeProto softmax, Dictionary<string, NodeProto> producer, Dictionary<string, List<NodeProto>> consumers, Dictionary<string, TensorProto> initializers)
    {
        NodeProto? From(string name, string op) => producer.TryGetValue(name, out var n) && n.OpType == op ? n : null;
        // The one user of a node's output that is not a Shape (the export reads shapes to build the next Reshape's target).
        NodeProto? OnlyUser(NodeProto node, string op) =>
            consumers.TryGetValue(node.Output[0], out var users) && users.Where(u => u.OpType != "Shape").ToList() is [var user] && user.OpType == op ? user : null;

        if (Axis(softmax) is not (-1 or 3) || From(softmax.Input[0], "Add") is not { } add)
        {
            return null;
        }

        var div = From(add.Input[0], "Div") ?? From(add.Input[1], "Div");
        if (div is null || From(div.Input[0], "MatMul") is not { } scores || ScalarConstant(div.Input[1], producer, initializers) is not { } divisor || divisor <= 0)
        {
            return null;
        }

        var q = From(scores.Input[0], "Transpose") is { } qt && Perm(qt) == "0,2,1,3" ? From(qt.Input[0], "Reshape") : null;
        var k = From(scores.Input[1], "Transpose") is { } kt && Perm(kt) == "0,2,3,1" ? From(kt.Input[0], "Reshape") : null;
        if (q is null || k is null || OnlyUser(softmax, "MatMul") is not { } context || context.Input[0] != softmax.Output[0])
        {
            return null;
        }

        var v = From(context.Input[1], "Transpose") is { } vt && Perm(vt) == "0,2,1,3" ? From(vt.Input[0], "Reshape") : null;
        if (v is null || OnlyUser(context, "Transpose") is not { } merge || Perm(merge) != "0,2,1,3" || OnlyUser(merge, "Reshape") is not { } output)
        {
            return null;
        }

        var heads = Heads(q, producer, initializers);
        if (heads is null || heads != Heads(k, producer, initializers) || heads != Heads(v, producer, initializers))
        {
            return null;
        }

        return new Block(q.Input[0], k.Input[0], v.Input[0], heads.Value, 1 / divisor, output);
    }

    /// <summary>The head count a head-splitting Reshape uses: its shape is <c>Concat(batch, sequence, heads, size)</c> or a constant [·, ·, heads, size].</summary>
    private static long? Heads(NodeProto reshape, Dictionary<string, NodeProto> producer, Dictionary<string, TensorProto> initializers)
    {
        if (initializers.TryGetValue(reshape.Input[1], out var shape))
        {
            var dims = Int64s(shape);
            return dims.Length == 4 ? dims[2] : null;
        }

        if (producer.TryGetValue(reshape.Input[1], out var concat) && concat.OpType == "Concat" && concat.Input.Count == 4)
        {
            var heads = initializers.TryGetValue(concat.Input[2], out var h) ? Int64s(h) : ConstantValue(concat.Input[2], producer) is { } c ? Int64s(c) : [];
            return heads.Length == 1 && heads[0] > 0 ? heads[0] : null;
        }

        return null;
    }

    private static float? ScalarConstant(string name, Dictionary<string, NodeProto> producer, Dictionary<string, TensorProto> initializers)
    {
        var tensor = initializers.TryGetValue(name, out var t) ? t : ConstantValue(name, producer);
        if (tensor is null || tensor.DataType != (int)TensorProto.Types.DataType.Float || tensor.Dims.Aggregate(1L, (a, d) => a * d) != 1)
        {
            return null;
        }

        return tensor.FloatData.Count > 0 ? tensor.FloatData[0] : BitConverter.ToSingle(tensor.RawData.Span);
    }

    private static TensorProto? ConstantValue(string name, Dictionary<string, NodeProto> producer) =>
        producer.TryGetValue(name, out var node) && node.OpType == "Constant" ? node.Attribute.FirstOrDefault(a => a.Name == "value")?.T : null;

    private static long[] Int64s(TensorProto t) =>
        t.DataType != (int)TensorProto.Types.DataType.Int64 ? []
        : t.Int64Data.Count > 0 ? [.. t.Int64Data]
        : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();

    private static string Perm(NodeProto transpose) => string.Join(',', transpose.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints ?? []);

    private static long Axis(NodeProto softmax) => softmax.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? -1;
}
