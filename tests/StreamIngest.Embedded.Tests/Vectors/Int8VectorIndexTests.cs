using System.Numerics.Tensors;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Embedded.Tests.Vectors;

public class Int8VectorIndexTests
{
    private const int Dims = 384;
    private static readonly VectorFilter All = new(long.MinValue + 1, long.MaxValue);

    private static float[] RandomUnit(Random rng, float[]? around = null, float noise = 1f)
    {
        var v = new float[Dims];
        for (var i = 0; i < Dims; i++)
        {
            v[i] = (around?[i] ?? 0) + (float)(rng.NextDouble() * 2 - 1) * noise;
        }

        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    [Fact]
    public void DotInt8_Simd_EqualsScalar()
    {
        var rng = new Random(1);
        var a = new sbyte[Dims + 5];
        var b = new sbyte[Dims + 5];
        rng.NextBytes((byte[])(Array)a);
        rng.NextBytes((byte[])(Array)b);
        var expected = 0;
        for (var i = 0; i < a.Length; i++)
        {
            expected += a[i] * b[i];
        }

        Assert.Equal(expected, Int8VectorIndex.DotInt8(a, b));
    }

    [Fact]
    public void Search_ClusteredData_Top10MatchesExactFp32Closely()
    {
        var rng = new Random(42);
        var centers = Enumerable.Range(0, 30).Select(_ => RandomUnit(rng)).ToArray();
        var vectors = Enumerable.Range(0, 6000).Select(i => RandomUnit(rng, centers[i % 30], 0.05f)).ToArray();
        var index = new Int8VectorIndex(Dims);
        for (var i = 0; i < vectors.Length; i++)
        {
            index.Upsert($"k{i}", i, 0, "s", null, vectors[i]);
        }

        var recall = 0.0;
        for (var q = 0; q < 20; q++)
        {
            var query = RandomUnit(rng, centers[q], 0.05f);
            var exact = vectors.Select((v, i) => (i, s: TensorPrimitives.Dot(query, v))).OrderByDescending(x => x.s).Take(10).Select(x => $"k{x.i}").ToHashSet();
            var approx = index.Search(query, 40, All).Take(10).Select(r => r.Key);
            recall += approx.Count(exact.Contains) / 10.0;
        }

        // int8 alone, before the fp32 re-rank the retriever adds: close to exact on clustered data.
        Assert.True(recall / 20 >= 0.8, $"int8 recall@10 {recall / 20}");
    }

    [Fact]
    public void Search_Filters_ExcludeRowsOutsideWindowSourceLangAndAllowedSet()
    {
        var rng = new Random(3);
        var q = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims);
        index.Upsert("old", 1, 100, "x", "en", q);
        index.Upsert("bsky", 2, 1000, "bsky", "en", q);
        index.Upsert("german", 3, 1000, "x", "de", q);
        index.Upsert("match", 4, 1000, "x", "en", q);
        index.Upsert("other", 5, 1000, "x", "en", q);

        var hits = index.Search(q, 10, new VectorFilter(500, 2000, index.CodeOf("x"), index.CodeOf("en"), new HashSet<long> { 1, 2, 3, 4 }));

        Assert.Equal("match", Assert.Single(hits).Key);
        Assert.Empty(index.Search(q, 10, All with { Source = index.CodeOf("never-seen") }));
    }

    [Fact]
    public void Upsert_SameKeyTwice_ReplacesAndRemoveForgets()
    {
        var rng = new Random(5);
        var a = RandomUnit(rng);
        var b = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims);

        index.Upsert("k", 1, 0, "s", null, a);
        index.Upsert("k", 1, 0, "s", null, b);

        Assert.Equal(1, index.Count);
        Assert.True(index.Search(b, 1, All)[0].Score > 0.98f);
        Assert.True(index.Remove("k"));
        Assert.Empty(index.Search(b, 1, All));
        Assert.Equal(0, index.Count);
    }
}
