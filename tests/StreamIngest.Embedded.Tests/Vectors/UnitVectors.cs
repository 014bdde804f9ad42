using System.Numerics.Tensors;

namespace StreamIngest.Embedded.Tests.Vectors;

/// <summary>Seeded unit vectors for the vector index's tests: uniform noise, around a centre when one is given.</summary>
internal static class UnitVectors
{
    public const int Dims = 384;

    public static float[] Near(Random rng, float[]? around = null, float noise = 1f)
    {
        var v = new float[Dims];
        for (var i = 0; i < Dims; i++)
        {
            v[i] = (around?[i] ?? 0) + (float)(rng.NextDouble() * 2 - 1) * noise;
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}
