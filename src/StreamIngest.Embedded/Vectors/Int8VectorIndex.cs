using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamIngest.Embedded.Vectors;

/// <summary>Row filter applied during the scan, before any arithmetic.</summary>
public readonly record struct VectorFilter(long MinCreatedMs, long MaxCreatedMs, short Source = -1, short Lang = -1, IReadOnlySet<long>? AllowedRowIds = null);

/// <summary>
/// In-memory copy of every stored embedding, quantised to int8 (one scale per vector) and to one sign bit per
/// dimension, scanned with SIMD and popcount. Small indexes are scanned exhaustively in int8; from
/// <see cref="BinaryPrefilterRows"/> rows on, a scan first measures every row's Hamming distance from the query's sign
/// bits (48 bytes a row instead of 384), keeps the nearest <see cref="PrefilterFraction"/> of them, and scores only
/// those in int8; the caller re-ranks the best in fp32. Rows are kept in blocks (in arrival order, so in rough time order) that
/// remember the span of their posts' times: a windowed search skips every block outside the window before any
/// arithmetic. Growth never copies the whole index. Thread-safe: many concurrent searches, writes serialised.
/// </summary>
public sealed class Int8VectorIndex
{
    private const int BlockRows = 16_384;

    /// <summary>Most cores one scan uses; small indexes (one block) scan on the calling thread.</summary>
    public static int MaxParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Rows held from which a search ranks by sign bits first (below it, the int8 scan alone is as fast).</summary>
    public int BinaryPrefilterRows { get; init; } = 50_000;

    /// <summary>
    /// Share of the rows in scope that the sign-bit pass keeps for int8 scoring (those nearest by Hamming distance,
    /// found with a histogram of the distances rather than a heap, so keeping many costs little).
    /// </summary>
    public double PrefilterFraction { get; init; } = 0.05;

    /// <summary>Least rows the sign-bit pass keeps, however small the share.</summary>
    public int MinPrefilter { get; init; } = 1000;

    private readonly int _dims;
    private readonly int _words;
    private readonly List<Block> _blocks = [];
    private readonly Dictionary<string, int> _rowByKey = new(StringComparer.Ordinal);
    private readonly NameCodes _codes = new();
    private readonly ReaderWriterLockSlim _lock = new();
    private int _count;
    private int _live;

    public Int8VectorIndex(int dims)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dims, 1);
        _dims = dims;
        _words = (dims + 63) / 64;
    }

    public int Dimensions => _dims;

    /// <summary>Rows that can be found (added and not removed).</summary>
    public int Count => Volatile.Read(ref _live);

    /// <summary>Small integer for a source or language name (-1 = unknown, never stored).</summary>
    public short CodeOf(string? name) => _codes.CodeOf(name);

    /// <summary>Adds or replaces the vector stored under <paramref name="key"/>.</summary>
    public void Upsert(string key, long rowId, long createdMs, string source, string? lang, ReadOnlySpan<float> vector)
    {
        if (vector.Length != _dims)
        {
            throw new ArgumentException($"vector has {vector.Length} dimensions, index has {_dims}", nameof(vector));
        }

        _lock.EnterWriteLock();
        try
        {
            if (!_rowByKey.TryGetValue(key, out var row))
            {
                row = _count++;
                if (row / BlockRows == _blocks.Count)
                {
                    _blocks.Add(new Block(_dims, _words));
                }

                _rowByKey[key] = row;
                _live++;
            }
            else if (_blocks[row / BlockRows].Keys[row % BlockRows] is null)
            {
                _live++;
            }

            var block = _blocks[row / BlockRows];
            var r = row % BlockRows;
            block.Keys[r] = key;
            block.RowIds[r] = rowId;
            block.CreatedMs[r] = createdMs;
            block.Source[r] = _codes.Add(source);
            block.Lang[r] = _codes.Add(lang);
            block.InvScale[r] = Quantize(vector, block.Codes.AsSpan(r * _dims, _dims));
            SignBits(vector, block.Bits.AsSpan(r * _words, _words));
            block.MinCreatedMs = Math.Min(block.MinCreatedMs, createdMs);
            block.MaxCreatedMs = Math.Max(block.MaxCreatedMs, createdMs);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public bool Remove(string key)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rowByKey.Remove(key, out var row))
            {
                return false;
            }

            // The slot is left empty (never matched); retention churn is bounded by the window.
            var block = _blocks[row / BlockRows];
            block.Keys[row % BlockRows] = null;
            block.CreatedMs[row % BlockRows] = long.MinValue;
            block.Removed++;
            _live--;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The <paramref name="n"/> rows with the highest approximate cosine similarity that pass the filter, best first.</summary>
    public IReadOnlyList<(long RowId, string Key, float Score)> Search(ReadOnlySpan<float> query, int n, VectorFilter filter)
    {
        if (query.Length != _dims)
        {
            throw new ArgumentException($"query has {query.Length} dimensions, index has {_dims}", nameof(query));
        }

        var q = new sbyte[_dims];
        Quantize(query, q);
        var qBits = new ulong[_words];
        SignBits(query, qBits);
        _lock.EnterReadLock();
        try
        {
            // Blocks are split across cores, each with its own top-n heap; the heaps are merged after.
            var blocks = _blocks.Count;
            var workers = Math.Min(Math.Min(MaxParallelism, Environment.ProcessorCount), blocks);
            var heaps = new PriorityQueue<(int Block, int Row), float>[Math.Max(1, workers)];
            var prefilter = _live >= BinaryPrefilterRows;
            if (workers <= 1)
            {
                heaps[0] = ScanBlocks(0, 1, q, qBits, n, prefilter, filter);
            }
            else
            {
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w => heaps[w] = ScanBlocks(w, workers, q, qBits, n, prefilter, filter));
            }

            var heap = heaps[0];
            for (var h = 1; h < heaps.Length; h++)
            {
                while (heaps[h].TryDequeue(out var item, out var score))
                {
                    Offer(heap, n, item, score);
                }
            }

            var result = new (long, string, float)[heap.Count];
            for (var i = result.Length - 1; i >= 0; i--)
            {
                heap.TryDequeue(out var item, out var score);
                var block = _blocks[item.Block];
                result[i] = (block.RowIds[item.Row], block.Keys[item.Row]!, score);
            }

            return result;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private static void Offer(PriorityQueue<(int, int), float> heap, int n, (int, int) item, float score)
    {
        if (heap.Count < n)
        {
            heap.Enqueue(item, score);
        }
        else if (heap.TryPeek(out _, out var min) && score > min)
        {
            heap.DequeueEnqueue(item, score);
        }
    }

    /// <summary>
    /// The worker's top <paramref name="n"/> by int8 score: of every row passing the filter, or (with
    /// <paramref name="prefilter"/>) of the share of them nearest by sign bits.
    /// </summary>
    private PriorityQueue<(int, int), float> ScanBlocks(int first, int stride, sbyte[] q, ulong[] qBits, int n, bool prefilter, VectorFilter filter)
    {
        var heap = new PriorityQueue<(int, int), float>(n + 1);
        var blocks = new List<int>();
        var rows = 0;
        for (var b = first; b < _blocks.Count; b += stride)
        {
            if (Overlaps(_blocks[b], filter))
            {
                blocks.Add(b);
                rows += RowsIn(b);
            }
        }

        if (!prefilter)
        {
            foreach (var b in blocks)
            {
                ScanBlock(_blocks[b], RowsIn(b), b, q, n, filter, heap);
            }

            return heap;
        }

        // Pass 1: every row's Hamming distance to the query's bits (NoMatch for rows the filter refuses), and how
        // many rows sit at each distance. Pass 2: int8 scores for the rows at or under the distance that keeps the share.
        var distances = ArrayPool<ushort>.Shared.Rent(Math.Max(1, rows));
        try
        {
            var histogram = new int[_words * 64 + 1];
            var passing = 0;
            var at = 0;
            foreach (var b in blocks)
            {
                passing += SignBitDistances(_blocks[b], RowsIn(b), qBits, filter, distances.AsSpan(at), histogram);
                at += RowsIn(b);
            }

            var keep = Math.Max(Math.Max(n, MinPrefilter / stride), (int)Math.Ceiling(PrefilterFraction * passing));
            var threshold = 0;
            var below = 0; // rows nearer than the threshold distance
            for (; threshold < histogram.Length; threshold++)
            {
                if (below + histogram[threshold] >= keep)
                {
                    break;
                }

                below += histogram[threshold];
            }

            // Of the rows at the threshold distance, only as many as make up the share: with clustered vectors
            // thousands of rows can sit at one distance, and keeping them all made the int8 pass (and the query's
            // time) swing with the query.
            var atThreshold = keep - below;

            // The kept rows are scattered over the index: their int8 rows are fetched ahead of use (a software prefetch
            // a few rows ahead), so the memory waits overlap instead of coming one after another.
            at = 0;
            var kept = new List<int>();
            foreach (var b in blocks)
            {
                var block = _blocks[b];
                var count = RowsIn(b);
                kept.Clear();
                for (var r = 0; r < count; r++)
                {
                    var d = distances[at + r];
                    if (d < threshold || (d == threshold && atThreshold-- > 0))
                    {
                        kept.Add(r);
                    }
                }

                ScoreKept(block, b, kept, q, n, heap);
                at += count;
            }

            return heap;
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(distances);
        }
    }

    private const ushort NoMatch = ushort.MaxValue;

    private const int PrefetchAhead = 8;

    private unsafe void ScoreKept(Block block, int blockIndex, List<int> rows, sbyte[] q, int n, PriorityQueue<(int, int), float> heap)
    {
        fixed (sbyte* codes = block.Codes)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (Sse.IsSupported && i + PrefetchAhead < rows.Count)
                {
                    var ahead = codes + (rows[i + PrefetchAhead] * _dims);
                    for (var line = 0; line < _dims; line += 64)
                    {
                        Sse.Prefetch0(ahead + line);
                    }
                }

                var r = rows[i];
                Offer(heap, n, (blockIndex, r), DotInt8(q, new ReadOnlySpan<sbyte>(codes + (r * _dims), _dims)) * block.InvScale[r]);
            }
        }
    }

    private int RowsIn(int block) => Math.Min(BlockRows, _count - block * BlockRows);

    private static bool Overlaps(Block block, VectorFilter filter) =>
        block.MaxCreatedMs >= filter.MinCreatedMs && block.MinCreatedMs <= filter.MaxCreatedMs;

    private static bool Passes(Block block, int r, in VectorFilter filter)
    {
        var created = block.CreatedMs[r];
        return created >= filter.MinCreatedMs && created <= filter.MaxCreatedMs
            && (filter.Source == -1 || block.Source[r] == filter.Source)
            && (filter.Lang == -1 || block.Lang[r] == filter.Lang)
            && (filter.AllowedRowIds is null || filter.AllowedRowIds.Contains(block.RowIds[r]));
    }

    /// <summary>Writes each row's distance (or <see cref="NoMatch"/>) and counts the passing rows per distance; returns how many pass.</summary>
    private int SignBitDistances(Block block, int rows, ulong[] qBits, in VectorFilter filter, Span<ushort> distances, int[] histogram)
    {
        // A block wholly inside the window, with nothing removed and no other filter, needs no check per row.
        var everyRow = block.Removed == 0 && block.MinCreatedMs >= filter.MinCreatedMs && block.MaxCreatedMs <= filter.MaxCreatedMs
            && filter.Source == -1 && filter.Lang == -1 && filter.AllowedRowIds is null;
        ref var bits = ref MemoryMarshal.GetArrayDataReference(block.Bits);
        var passing = 0;
        for (var r = 0; r < rows; r++)
        {
            if (!everyRow && !Passes(block, r, filter))
            {
                distances[r] = NoMatch;
                continue;
            }

            var d = Hamming(qBits, ref Unsafe.Add(ref bits, r * _words));
            distances[r] = (ushort)d;
            histogram[d]++;
            passing++;
        }

        return passing;
    }

    /// <summary>Hamming distance between the query's bits and one row's; unrolled for 384 dimensions (six words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hamming(ulong[] q, ref ulong row)
    {
        if (q.Length == 6)
        {
            return System.Numerics.BitOperations.PopCount(q[0] ^ row)
                + System.Numerics.BitOperations.PopCount(q[1] ^ Unsafe.Add(ref row, 1))
                + System.Numerics.BitOperations.PopCount(q[2] ^ Unsafe.Add(ref row, 2))
                + System.Numerics.BitOperations.PopCount(q[3] ^ Unsafe.Add(ref row, 3))
                + System.Numerics.BitOperations.PopCount(q[4] ^ Unsafe.Add(ref row, 4))
                + System.Numerics.BitOperations.PopCount(q[5] ^ Unsafe.Add(ref row, 5));
        }

        var d = 0;
        for (var w = 0; w < q.Length; w++)
        {
            d += System.Numerics.BitOperations.PopCount(q[w] ^ Unsafe.Add(ref row, w));
        }

        return d;
    }

    private void ScanBlock(Block block, int rows, int blockIndex, sbyte[] q, int n, VectorFilter filter, PriorityQueue<(int, int), float> heap)
    {
        var threshold = float.MinValue;
        if (heap.Count == n)
        {
            heap.TryPeek(out _, out threshold);
        }

        var codes = block.Codes;
        for (var r = 0; r < rows; r++)
        {
            if (!Passes(block, r, filter))
            {
                continue;
            }

            var score = DotInt8(q, codes.AsSpan(r * _dims, _dims)) * block.InvScale[r];
            if (heap.Count < n)
            {
                heap.Enqueue((blockIndex, r), score);
                if (heap.Count == n)
                {
                    heap.TryPeek(out _, out threshold);
                }
            }
            else if (score > threshold)
            {
                heap.DequeueEnqueue((blockIndex, r), score);
                heap.TryPeek(out _, out threshold);
            }
        }
    }

    /// <summary>Symmetric int8 quantisation; returns 1/scale so that dot(q, v) ≈ Σqᵢcᵢ · invScale / queryScale.</summary>
    internal static float Quantize(ReadOnlySpan<float> vector, Span<sbyte> codes)
    {
        var max = TensorPrimitives.MaxMagnitude(vector);
        if (max == 0 || !float.IsFinite(max))
        {
            codes.Clear();
            return 0;
        }

        var scale = 127f / Math.Abs(max);
        for (var i = 0; i < vector.Length; i++)
        {
            codes[i] = (sbyte)Math.Clamp(MathF.Round(vector[i] * scale), -127, 127);
        }

        return 1f / scale;
    }

    /// <summary>One bit per dimension: set where the component is positive.</summary>
    internal static void SignBits(ReadOnlySpan<float> vector, Span<ulong> bits)
    {
        bits.Clear();
        for (var i = 0; i < vector.Length; i++)
        {
            if (vector[i] > 0)
            {
                bits[i >> 6] |= 1UL << (i & 63);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotInt8(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        var i = 0;
        var sum = 0;
        if (Avx2.IsSupported && a.Length >= 16)
        {
            ref var ra = ref MemoryMarshal.GetReference(a);
            ref var rb = ref MemoryMarshal.GetReference(b);
            var acc = Vector256<int>.Zero;
            for (; i + 16 <= a.Length; i += 16)
            {
                var va = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref ra, (nuint)i));
                var vb = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref rb, (nuint)i));
                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(va, vb));
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private sealed class Block(int dims, int words)
    {
        public readonly sbyte[] Codes = new sbyte[BlockRows * dims];
        public readonly ulong[] Bits = new ulong[BlockRows * words];

        /// <summary>The span of the times of every post ever written to the block (removals do not narrow it).</summary>
        public long MinCreatedMs = long.MaxValue;

        public long MaxCreatedMs = long.MinValue;

        /// <summary>Rows removed from the block (their slots never match).</summary>
        public int Removed;

        public readonly float[] InvScale = new float[BlockRows];
        public readonly long[] CreatedMs = new long[BlockRows];
        public readonly long[] RowIds = new long[BlockRows];
        public readonly short[] Source = new short[BlockRows];
        public readonly short[] Lang = new short[BlockRows];
        public readonly string?[] Keys = new string?[BlockRows];
    }
}
