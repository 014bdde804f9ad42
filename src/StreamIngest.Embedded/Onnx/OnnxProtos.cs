using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace StreamIngest.Embedded.Onnx;

/// <summary>The few ONNX protobuf pieces the graph rewrites (quantiser, attention fusion) build and read.</summary>
internal static class OnnxProtos
{
    /// <summary>ONNX Runtime's contrib operators' domain (MultiHeadAttention, MatMulNBits).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    public static float[] Floats(TensorProto t) =>
        t.FloatData.Count > 0 ? [.. t.FloatData] : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    public static TensorProto Tensor(string name, TensorProto.Types.DataType type, IEnumerable<long> dims, ReadOnlySpan<byte> raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }

    public static TensorProto FloatTensor(string name, IEnumerable<long> dims, float[] values) =>
        Tensor(name, TensorProto.Types.DataType.Float, dims, MemoryMarshal.AsBytes(values.AsSpan()));

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, string domain = "")
    {
        var n = new NodeProto { OpType = op, Name = name, Domain = domain };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        return n;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>Declares <see cref="MicrosoftDomain"/> in the model's operator sets, once.</summary>
    public static void ImportMicrosoftDomain(ModelProto model)
    {
        if (!model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
    }
}
