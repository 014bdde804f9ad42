using System.Numerics.Tensors;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Embedded.Tests.Vectors;

/// <summary>The vector index's HNSW path (USearch, through its C library) against its own scan on the same rows.</summary>
public class HnswGraphTests
{
    private const int Dims = UnitVectors.Dims;
    private static readonly VectorFilter All = new(long.MinValue + 1, long.MaxValue);

    private static float[] Near(Random rng, float[]? around = null, float noise = 1f) => UnitVectors.Near(rng, around, noise);

    /// <summary>Two indexes over the same rows, one with the graph (caught up) and one scanning.</summary>
    private static (Int8VectorIndex Graph, Int8VectorIndex Scan, float[][] Centers, float[][] Vectors) Pair(int rows, int seed)
    {
        var rng = new Random(seed);
        var centers = Enumerable.Range(0, 40).Select(_ => Near(rng)).ToArray();
        var vectors = Enumerable.Range(0, rows).Select(i => Near(rng, centers[i % centers.Length], 0.06f)).ToArray();
        var graph = new Int8VectorIndex(Dims) { GraphFromRows = 1000 };
        var scan = new Int8VectorIndex(Dims);
        for (var i = 0; i < rows; i++)
        {
            graph.Upsert($"k{i}", i, i, "s", null, vectors[i]);
            scan.Upsert($"k{i}", i, i, "s", null, vectors[i]);
        }

        graph.CatchUpGraph();
        return (graph, scan, centers, vectors);
    }

    [Fact]
    public void GraphSearch_FindsTheTopTenTheScanFinds_ScoringFewRows()
    {
        var (graph, scan, centers, _) = Pair(6000, 3);
        using var _ = graph;
        Assert.Equal(6000, graph.GraphRows);
        var rng = new Random(4);
        var overlap = 0.0;
        foreach (var window in new[] { All, new VectorFilter(3000, long.MaxValue) })
        {
            for (var q = 0; q < 20; q++)
            {
                var query = Near(rng, centers[q], 0.06f);
                var viaGraph = graph.Search(query, 40, window, out var scored);
                var viaScan = scan.Search(query, 40, window).Take(10).Select(h => h.RowId).ToHashSet();
                overlap += viaGraph.Take(10).Count(h => viaScan.Contains(h.RowId)) / 10.0;
                Assert.True(scored <= 40, $"the graph path scored {scored} rows, a scan would score {(window == All ? 6000 : 3000)}");
                Assert.All(viaGraph, h => Assert.True(h.RowId >= window.MinCreatedMs, $"row {h.RowId} is outside the window"));
            }
        }

        Assert.True(overlap / 40 >= 0.95, $"top-10 overlap with the scan {overlap / 40}");
    }

    [Fact]
    public void RowsTheGraphHasNotReached_AreFoundAtOnce_AndRemovedOrChangedRowsAreNeverStale()
    {
        var (graph, _, centers, vectors) = Pair(3000, 5);
        using var _ = graph;
        var rng = new Random(6);

        // Newer than the graph: found by the scan of the rows it has not reached.
        var fresh = Near(rng, centers[0], 0.06f);
        graph.Upsert("fresh", 5000, 5000, "s", null, fresh);
        Assert.Equal(3000, graph.GraphRows);
        Assert.Equal("fresh", graph.Search(fresh, 10, All)[0].Key);

        // Removed: never returned, though the graph held it.
        Assert.True(graph.Remove("k7"));
        Assert.DoesNotContain(graph.Search(vectors[7], 40, All), h => h.Key == "k7");

        // Changed: found by its new vector before and after the graph takes it again.
        var moved = Near(rng, centers[1], 0.06f);
        graph.Upsert("k8", 8, 8, "s", null, moved);
        Assert.Equal("k8", graph.Search(moved, 10, All)[0].Key);
        graph.CatchUpGraph();
        Assert.Equal(3001, graph.GraphRows);
        Assert.Equal("k8", graph.Search(moved, 10, All)[0].Key);
        Assert.Equal("fresh", graph.Search(fresh, 10, All)[0].Key);
        Assert.DoesNotContain(graph.Search(vectors[8], 40, All), h => h.Key == "k8" && h.Score > 0.99f);
    }

    [Fact]
    public void RetentionChurn_KeepsTheGraphTheSizeOfTheRowsHeld_NotOfTheRowNumbers()
    {
        // Rows are numbered for ever; the graph's slots must follow the rows held, or a host purging as it ingests
        // would reserve more every day. 20,000 held, then 60,000 more arrive as the oldest are purged.
        const int dims = 16;
        var rng = new Random(12);
        var index = new Int8VectorIndex(dims) { GraphFromRows = 1000 };
        float[] Next()
        {
            var v = Enumerable.Range(0, dims).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
            return v;
        }

        for (var i = 0; i < 20_000; i++)
        {
            index.Upsert($"k{i}", i, i, "s", null, Next());
        }

        index.CatchUpGraph();
        var reserved = index.GraphReserved;
        for (var round = 1; round <= 3; round++)
        {
            for (var i = (round - 1) * 20_000; i < round * 20_000; i++)
            {
                index.Remove($"k{i}");
                var j = i + 20_000;
                index.Upsert($"k{j}", j, j, "s", null, Next());
            }

            index.CatchUpGraph();
        }

        Assert.Equal(80_000, index.GraphRows);
        Assert.True(index.GraphReserved <= reserved * 1.25, $"reserved {reserved} slots for 20,000 rows, then {index.GraphReserved} after 60,000 more replaced them");
        var probe = Next();
        index.Upsert("probe", 90_000, 90_000, "s", null, probe);
        index.CatchUpGraph();
        Assert.Equal("probe", index.Search(probe, 10, All)[0].Key);
        index.Dispose();
    }

    [Fact]
    public void ASelectiveFilter_ThroughTheGraph_FindsEveryMatchingRow()
    {
        // Twenty posts of 40,000 carry the entity asked for, none of them near the question.
        var (graph, _, centers, _) = Pair(40_000, 13);
        using var _ = graph;
        var rng = new Random(15);
        var allowed = Enumerable.Range(0, 20).Select(_ => (long)rng.Next(40_000)).Where(r => r % 40 != 0).ToHashSet();

        var hits = graph.Search(Near(new Random(14), centers[0], 0.06f), 40, All with { AllowedRowIds = allowed });

        Assert.Equal(allowed.Order(), hits.Select(h => h.RowId).Order());
    }

    [Fact]
    public void BelowGraphFromRows_NoGraphIsBuilt()
    {
        var index = new Int8VectorIndex(Dims) { GraphFromRows = 1000 };
        var rng = new Random(8);
        for (var i = 0; i < 999; i++)
        {
            index.Upsert($"k{i}", i, i, "s", null, Near(rng));
        }

        index.CatchUpGraph();
        Assert.Equal(0, index.GraphRows);
    }
}
