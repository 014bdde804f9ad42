using System.Numerics.Tensors;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Embedded.Tests.Vectors;

public class Int8VectorIndexTests
{
    private const int Dims = UnitVectors.Dims;
    private static readonly VectorFilter All = new(long.MinValue + 1, long.MaxValue);

    private static float[] RandomUnit(Random rng, float[]? around = null, float noise = 1f) => UnitVectors.Near(rng, around, noise);

    [Fact]
    public void Int8Dot_EveryPathTheProcessorHas_EqualsTheCodesDotProduct()
    {
        var rng = new Random(1);
        var codes = new sbyte[Dims + 5];
        var q = new sbyte[Dims + 5];
        for (var i = 0; i < codes.Length; i++)
        {
            // The full range quantisation writes, ends included (±127 is where an overflow would show).
            codes[i] = i < 8 ? (sbyte)(i % 2 == 0 ? 127 : -127) : (sbyte)rng.Next(-127, 128);
            q[i] = i < 8 ? (sbyte)127 : (sbyte)rng.Next(-127, 128);
        }

        var expected = 0;
        var qSum = 0;
        for (var i = 0; i < codes.Length; i++)
        {
            expected += codes[i] * q[i];
            qSum += q[i];
        }

        var stored = codes.Select(c => (byte)(c + Int8Dot.Offset)).ToArray();
        var offset = Int8Dot.Offset * qSum;
        Assert.Equal(expected, Int8Dot.OffsetRowScalar(stored, q, 0) - offset);
        Assert.Equal(expected, Int8Dot.OffsetRow(stored, q) - offset);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.Equal(expected, Int8Dot.OffsetRowAvx2(stored, q) - offset);
        }

        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
        {
            Assert.Equal(expected, Int8Dot.OffsetRowVnni(stored, q) - offset);
        }
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
    public void Describe_GivesCosineTimeEngagementAndStory_OfHeldKeysOnly()
    {
        var rng = new Random(8);
        var q = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims);
        var vectors = Enumerable.Range(0, 50).Select(_ => RandomUnit(rng, q, 0.5f)).ToArray();
        for (var i = 0; i < vectors.Length; i++)
        {
            index.Upsert($"k{i}", i, 1000 + i, "s", null, vectors[i], engagement: i, story: i % 2 == 0 ? "even" : null);
        }

        index.AddEngagement("k3", 100);
        index.Remove("k4");
        var facts = index.Describe(q, ["k1", "k2", "k3", "k4", "k6", "missing", "k1"]);

        Assert.Equal(["k1", "k2", "k3", "k6"], facts.Keys.Order());
        foreach (var (key, f) in facts)
        {
            var i = int.Parse(key[1..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(TensorPrimitives.CosineSimilarity(q, vectors[i]), f.Score, 0.01);
            Assert.Equal(1000 + i, f.CreatedMs);
        }

        Assert.Equal(103, facts["k3"].Engagement);
        Assert.Equal(facts["k2"].Story, facts["k6"].Story); // one story
        Assert.NotEqual(facts["k1"].Story, facts["k3"].Story); // each its own
        Assert.False(index.AddEngagement("k4", 1));
    }

    [Fact]
    public void Search_WithFacts_GivesEachHitsFactsAsDescribeDoes()
    {
        var rng = new Random(9);
        var q = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims) { BinaryPrefilterRows = 100, MinPrefilter = 0, PrefilterFraction = 0.2 };
        for (var i = 0; i < 500; i++)
        {
            index.Upsert($"k{i}", i, 1000 + i, "s", null, RandomUnit(rng, q, 0.8f), engagement: i % 7, story: $"s{i % 50}");
        }

        var facts = new List<RowFacts> { default }; // cleared first
        var hits = index.Search(q, 10, All, out _, facts);
        var described = index.Describe(q, hits.Select(h => h.Key));

        Assert.Equal(10, hits.Count);
        Assert.Equal(hits.Select(h => described[h.Key]), facts);
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

    [Theory]
    [InlineData(0)]
    [InlineData(1_000_000)]
    public void Search_WithNoLowerTimeBound_NeverReturnsARemovedRow(int binaryPrefilterRows)
    {
        // A filter whose lower bound is long.MinValue (no window) must not match the slots removed rows leave behind.
        var rng = new Random(9);
        var index = new Int8VectorIndex(Dims) { BinaryPrefilterRows = binaryPrefilterRows, MinPrefilter = 1 };
        var vectors = Enumerable.Range(0, 50).Select(_ => RandomUnit(rng)).ToArray();
        for (var i = 0; i < vectors.Length; i++)
        {
            index.Upsert($"k{i}", i, 1000 + i, "s", null, vectors[i]);
        }

        for (var i = 0; i < 40; i++)
        {
            index.Remove($"k{i}");
        }

        var hits = index.Search(vectors[0], 20, new VectorFilter(long.MinValue, long.MaxValue));

        Assert.Equal(10, hits.Count);
        Assert.All(hits, h => Assert.True(h.RowId >= 40, $"removed row {h.RowId} returned"));
    }

    [Fact]
    public void RetentionPurge_ReleasesBlocksWhoseRowsAreAllRemoved_AndTheRestStayFound()
    {
        // 16,384 rows a block: three blocks' worth, oldest first, then the purge removes the oldest block and a half.
        const int rows = (3 * 16_384) + 10;
        var rng = new Random(11);
        var index = new Int8VectorIndex(Dims);
        var vectors = new float[rows][];
        for (var i = 0; i < rows; i++)
        {
            vectors[i] = RandomUnit(rng);
            index.Upsert($"k{i}", i, i, "s", null, vectors[i]);
        }

        Assert.Equal(4, index.BlocksHeld);
        var purged = 16_384 + 8_000;
        for (var i = 0; i < purged; i++)
        {
            Assert.True(index.Remove($"k{i}"));
        }

        Assert.Equal(3, index.BlocksHeld);
        Assert.Equal(rows - purged, index.Count);
        foreach (var i in new[] { purged, purged + 5_000, rows - 1 })
        {
            Assert.Equal(i, index.Search(vectors[i], 1, new VectorFilter(long.MinValue, long.MaxValue))[0].RowId);
        }

        Assert.All(index.Search(vectors[0], 50, new VectorFilter(long.MinValue, long.MaxValue)), h => Assert.True(h.RowId >= purged));

        // New rows still land after the released block, and the window still finds them.
        index.Upsert("new", rows, rows, "s", null, vectors[0]);
        Assert.Equal(rows, index.Search(vectors[0], 1, new VectorFilter(rows, long.MaxValue))[0].RowId);
    }

    [Fact]
    public void SignBitPrefilter_FindsTheSameTopTenAsTheFullInt8Scan()
    {
        var rng = new Random(11);
        var centers = Enumerable.Range(0, 40).Select(_ => RandomUnit(rng)).ToArray();
        var full = new Int8VectorIndex(Dims) { BinaryPrefilterRows = int.MaxValue };
        var prefiltered = new Int8VectorIndex(Dims) { BinaryPrefilterRows = 0, MinPrefilter = 0 }; // the default share, 3%
        for (var i = 0; i < 40_000; i++)
        {
            var v = RandomUnit(rng, centers[i % 40], 0.12f);
            full.Upsert($"k{i}", i, i, "s", null, v);
            prefiltered.Upsert($"k{i}", i, i, "s", null, v);
        }

        var recall = 0.0;
        for (var q = 0; q < 30; q++)
        {
            var query = RandomUnit(rng, centers[q], 0.12f);
            var expected = full.Search(query, 10, All).Select(r => r.Key).ToHashSet();
            recall += prefiltered.Search(query, 10, All).Count(r => expected.Contains(r.Key)) / 10.0;
        }

        // The nearest 3% of 40,000 rows by sign bits, then int8: the same top ten (a broken bit pass would keep ~3% of them).
        Assert.True(recall / 30 >= 0.99, $"recall@10 against the full int8 scan {recall / 30}");
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(0)]
    public void Search_ExactRepeatsTie_TheLatestWin_TheSameEveryTime(int binaryPrefilterRows)
    {
        // 40 copies of one vector spread over three blocks (a post and its exact repeats share a vector): which ten
        // make the top ten must not depend on which core scanned which block first.
        var rng = new Random(23);
        var repeated = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims) { BinaryPrefilterRows = binaryPrefilterRows, MinPrefilter = 0 };
        for (var i = 0; i < 40_000; i++)
        {
            index.Upsert($"k{i}", i, i, "s", null, i % 1000 == 0 ? repeated : RandomUnit(rng));
        }

        var latest = Enumerable.Range(30, 10).Select(c => $"k{c * 1000}").ToHashSet();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            Assert.Equal(latest, index.Search(repeated, 10, All).Select(h => h.Key).ToHashSet());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SignBitCut_ScoresAboutItsShareOfTheRowsInScope_EvenWhenManyRowsTie(bool windowed)
    {
        // 100,000 rows (the cut is placed from a sample), a third of them copies of six vectors: thousands of rows
        // share each Hamming distance, so a cut that kept every row at its distance would score far more than 5%.
        var rng = new Random(17);
        var centers = Enumerable.Range(0, 50).Select(_ => RandomUnit(rng)).ToArray();
        var copies = Enumerable.Range(0, 6).Select(c => RandomUnit(rng, centers[c], 0.1f)).ToArray();
        var index = new Int8VectorIndex(Dims) { BinaryPrefilterRows = 0, MinPrefilter = 0, PrefilterFraction = 0.05 };
        for (var i = 0; i < 100_000; i++)
        {
            index.Upsert($"k{i}", i, i, "s", null, i % 3 == 0 ? copies[i % 6] : RandomUnit(rng, centers[i % 50], 0.1f));
        }

        var filter = windowed ? new VectorFilter(50_000, 89_999) : All; // 40% of the rows, blocks partly inside
        var inScope = windowed ? 40_000 : 100_000;
        for (var q = 0; q < 10; q++)
        {
            var hits = index.Search(RandomUnit(rng, centers[q], 0.1f), 10, filter, out var scored);

            Assert.Equal(10, hits.Count);
            Assert.All(hits, h => Assert.InRange(h.RowId, filter.MinCreatedMs, filter.MaxCreatedMs));
            Assert.InRange(scored / (double)inScope, 0.04, 0.065);
        }
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(0)]
    public void Search_Window_SkipsBlocksWhollyOutsideIt_AndStillFindsALateArrival(int binaryPrefilterRows)
    {
        var rng = new Random(13);
        var q = RandomUnit(rng);
        var index = new Int8VectorIndex(Dims) { BinaryPrefilterRows = binaryPrefilterRows };
        for (var i = 0; i < 40_000; i++)
        {
            index.Upsert($"k{i}", i, 1_000 + i, "s", null, RandomUnit(rng)); // arrival order is time order: blocks hold time spans
        }

        index.Upsert("late", 50_000, 5_000, "s", null, q); // an early post arriving last, in the newest block

        var early = index.Search(q, 5, new VectorFilter(1_000, 10_000));
        var recent = index.Search(q, 5, new VectorFilter(30_000, 50_000));

        Assert.Equal("late", early[0].Key);
        Assert.All(early, r => Assert.InRange(r.RowId is 50_000 ? 5_000 : 1_000 + r.RowId, 1_000, 10_000));
        Assert.All(recent, r => Assert.InRange(1_000 + r.RowId, 30_000, 50_000));
    }
}
