using Google.Protobuf;
using Onnx;

namespace StreamIngest.Embedded.Onnx;

/// <summary>
/// Drops the graph outputs nobody reads, and every node and constant only they needed. ONNX Runtime runs the whole
/// graph whatever outputs a run asks for: a sentence-transformers export also computes BERT's pooler (a 384 × 384
/// layer and tanh over [CLS]) that mean or [CLS] pooling never uses.
/// </summary>
public static class OutputPruning
{
    /// <summary>The model with its first output (a sentence model's token states) as its only one.</summary>
    public static byte[] KeepFirstOutput(byte[] model)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var graph = proto.Graph;
        if (graph.Output.Count <= 1)
        {
            return model;
        }

        var keep = graph.Output[0].Name;
        foreach (var other in graph.Output.Where(o => o.Name != keep).ToList())
        {
            graph.Output.Remove(other);
        }

        var nodes = WithoutDeadNodes([.. graph.Node], [keep]);
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        RemoveUnusedInitializers(graph);
        return proto.ToByteArray();
    }

    /// <summary>Keeps, in their order, the nodes that something in <paramref name="outputs"/> depends on.</summary>
    internal static List<NodeProto> WithoutDeadNodes(List<NodeProto> nodes, IEnumerable<string> outputs)
    {
        var needed = new HashSet<string>(outputs, StringComparer.Ordinal);
        var live = new bool[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            if (nodes[i].Output.Any(needed.Contains))
            {
                live[i] = true;
                needed.UnionWith(nodes[i].Input.Where(x => x.Length > 0));
            }
        }

        return [.. nodes.Where((_, i) => live[i])];
    }

    internal static void RemoveUnusedInitializers(GraphProto graph)
    {
        var used = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var unused in graph.Initializer.Where(t => !used.Contains(t.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
        }
    }
}
