using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// Dot products of a stored row's int8 codes with a query's, with the widest instructions the processor has. Rows are
/// stored offset by +128 (as bytes, 1..255), because the processor's one-instruction int8 product (AVX-VNNI
/// <c>vpdpbusd</c>) multiplies unsigned bytes by signed ones: Σ(cᵢ + 128)·qᵢ = Σcᵢqᵢ + 128·Σqᵢ, and the query's sum is
/// taken once per search. Every path is exact integer arithmetic, so scores do not depend on the processor.
/// </summary>
internal static class Int8Dot
{
    /// <summary>The stored offset: a code c is kept as the byte c + 128.</summary>
    public const int Offset = 128;

    /// <summary>Σ rowᵢ·qᵢ for a row stored with <see cref="Offset"/>; subtract <see cref="Offset"/> × Σq for the codes' dot product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OffsetRow(ReadOnlySpan<byte> row, ReadOnlySpan<sbyte> q)
    {
        if (AvxVnni.IsSupported && row.Length >= 32)
        {
            return OffsetRowVnni(row, q);
        }

        return Avx2.IsSupported && row.Length >= 16 ? OffsetRowAvx2(row, q) : OffsetRowScalar(row, q, 0);
    }

    /// <summary>32 products a step in one instruction (u8 × s8, summed in fours into int32 lanes).</summary>
    internal static int OffsetRowVnni(ReadOnlySpan<byte> row, ReadOnlySpan<sbyte> q)
    {
        ref var r = ref MemoryMarshal.GetReference(row);
        ref var s = ref MemoryMarshal.GetReference(q);
        var acc = Vector256<int>.Zero;
        var i = 0;
        for (; i + 32 <= row.Length; i += 32)
        {
            acc = AvxVnni.MultiplyWideningAndAdd(acc, Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref s, (nuint)i));
        }

        return Vector256.Sum(acc) + OffsetRowScalar(row, q, i);
    }

    /// <summary>16 products a step: both sides widened to int16, multiplied and summed in pairs.</summary>
    internal static int OffsetRowAvx2(ReadOnlySpan<byte> row, ReadOnlySpan<sbyte> q)
    {
        ref var r = ref MemoryMarshal.GetReference(row);
        ref var s = ref MemoryMarshal.GetReference(q);
        var acc = Vector256<int>.Zero;
        var i = 0;
        for (; i + 16 <= row.Length; i += 16)
        {
            var vr = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, (nuint)i));
            var vq = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref s, (nuint)i));
            acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(vr, vq));
        }

        return Vector256.Sum(acc) + OffsetRowScalar(row, q, i);
    }

    internal static int OffsetRowScalar(ReadOnlySpan<byte> row, ReadOnlySpan<sbyte> q, int from)
    {
        var sum = 0;
        for (var i = from; i < row.Length; i++)
        {
            sum += row[i] * q[i];
        }

        return sum;
    }
}
