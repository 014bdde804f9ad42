using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// A held row as a search sees it before reading it: the approximate (int8) cosine with the query, the post's time, its
/// interactions and a hash of its story.
/// </summary>
public readonly record struct RowFacts(float Score, long CreatedMs, long Engagement, int Story);

/// <summary>Row filter applied during the scan, before any arithmetic.</summary>
public readonly record struct VectorFilter(long MinCreatedMs, long MaxCreatedMs, short Source = -1, short Lang = -1, IReadOnlySet<long>? AllowedRowIds = null);

/// <summary>
/// In-memory copy of every stored embedding, quantised to int8 (one scale per vector) and to one sign bit per
/// dimension, scanned with SIMD and popcount. Small indexes are scanned exhaustively in int8; from
/// <see cref="BinaryPrefilterRows"/> rows on, a scan measures every row's Hamming distance from the query's sign bits
/// (48 bytes a row instead of 384) and scores in int8 only the nearest <see cref="PrefilterFraction"/> of them (the
/// distance that keeps that share is placed from a sample first); the caller re-ranks the best in fp32. Rows are kept in blocks (in arrival order, so in rough time order) that
/// remember the span of their posts' times: a windowed search skips every block outside the window before any
/// arithmetic. Growth never copies the whole index. From <see cref="GraphFromRows"/> rows held, an HNSW graph
/// (<see cref="HnswGraph"/>, built in the background as rows arrive) finds the candidates of a search whose scope holds
/// that many rows, and the rows it has not reached yet are scanned (decision 0011). Thread-safe: many concurrent
/// searches, writes serialised.
/// </summary>
public sealed class Int8VectorIndex : IDisposable
{
    private const int BlockRows = 16_384;

    /// <summary>Most cores one scan uses; small indexes (one block) scan on the calling thread.</summary>
    public static int MaxParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Rows held from which a search ranks by sign bits first (below it, every row in scope is scored in int8).</summary>
    public int BinaryPrefilterRows { get; init; } = 20_000;

    /// <summary>Share of the rows in scope that the sign-bit pass keeps for int8 scoring: those nearest by Hamming distance.</summary>
    public double PrefilterFraction { get; init; } = 0.03;

    /// <summary>Least rows the sign-bit pass keeps, however small the share.</summary>
    public int MinPrefilter { get; init; } = 1000;

    /// <summary>
    /// Rows held from which the HNSW graph is built, and rows in a search's scope from which the graph finds its
    /// candidates instead of a scan (0: never).
    /// </summary>
    public int GraphFromRows { get; init; }

    /// <summary>How widely a graph search looks (USearch's expansion_search): recall@10 ≥ 0.99 at 256 on 1M posts.</summary>
    public int GraphExpansion { get; init; } = 256;

    private HnswGraph? _graph;
    private CancellationTokenSource? _graphStop;

    /// <summary>Rows below this have been given to the graph (or skipped, removed); the rest are scanned.</summary>
    private int _graphRows;

    /// <summary>Rows below <see cref="_graphRows"/> whose vector changed after the graph took it: scanned until taken again.</summary>
    private readonly HashSet<int> _graphStale = [];
    private readonly Lock _graphBuild = new();

    private readonly int _dims;
    private readonly int _words;
    private readonly List<Block> _blocks = [];

    /// <summary>Stands in for a block whose rows were all removed: its time span matches no filter, so it is never scanned.</summary>
    private static readonly Block Emptied = new(0, 0);
    private readonly Dictionary<string, int> _rowByKey = new(StringComparer.Ordinal);
    private readonly NameCodes _codes = new();
    private readonly ReaderWriterLockSlim _lock = new();
    private int _count;
    private int _live;
    private int _searching;

    public Int8VectorIndex(int dims)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dims, 1);
        _dims = dims;
        _words = (dims + 63) / 64;
    }

    public int Dimensions => _dims;

    /// <summary>Rows that can be found (added and not removed).</summary>
    public int Count => Volatile.Read(ref _live);

    /// <summary>Blocks of rows holding memory (those whose rows were all removed are released).</summary>
    internal int BlocksHeld
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _blocks.Count(b => !ReferenceEquals(b, Emptied));
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Small integer for a source or language name (-1 = unknown, never stored).</summary>
    public short CodeOf(string? name) => _codes.CodeOf(name);

    /// <summary>Adds or replaces the vector stored under <paramref name="key"/>.</summary>
    /// <param name="engagement">The post's interactions so far (<see cref="AddEngagement"/> adds to them).</param>
    /// <param name="story">The story the post belongs to (its cluster, else its exact text's hash; its key when null).</param>
    public void Upsert(string key, long rowId, long createdMs, string source, string? lang, ReadOnlySpan<float> vector, long engagement = 0, string? story = null)
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

            if (row < _graphRows && _graph is not null)
            {
                _graph.Remove(row); // its old vector; the row is scanned until the builder takes the new one
                _graphStale.Add(row);
            }

            var block = _blocks[row / BlockRows];
            var r = row % BlockRows;
            block.Keys[r] = key;
            block.RowIds[r] = rowId;
            block.CreatedMs[r] = createdMs;
            block.Engagement[r] = engagement;
            block.Story[r] = StringComparer.Ordinal.GetHashCode(story ?? key);
            block.Source[r] = _codes.Add(source);
            block.Lang[r] = _codes.Add(lang);
            block.InvScale[r] = QuantizeOffset(vector, block.Codes.AsSpan(r * _dims, _dims));
            SignBits(vector, block.Bits.AsSpan(r * _words, _words));
            block.MinCreatedMs = Math.Min(block.MinCreatedMs, createdMs);
            block.MaxCreatedMs = Math.Max(block.MaxCreatedMs, createdMs);
            if (_graph is null && GraphFromRows > 0 && _live >= GraphFromRows)
            {
                StartGraph();
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Adds <paramref name="delta"/> interactions to a row's engagement; false when the key is not held.</summary>
    public bool AddEngagement(string key, long delta)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rowByKey.TryGetValue(key, out var row))
            {
                return false;
            }

            _blocks[row / BlockRows].Engagement[row % BlockRows] += delta;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// What a search can rank the rows under <paramref name="keys"/> by before reading them: the int8 cosine with
    /// <paramref name="query"/>, time, engagement and story. Keys not held are left out.
    /// </summary>
    public Dictionary<string, RowFacts> Describe(ReadOnlySpan<float> query, IEnumerable<string> keys)
    {
        var prepared = Prepare(query, withBits: false, out var queryInvScale);
        var facts = new Dictionary<string, RowFacts>(StringComparer.Ordinal);
        _lock.EnterReadLock();
        try
        {
            foreach (var key in keys)
            {
                if (facts.ContainsKey(key) || !_rowByKey.TryGetValue(key, out var row))
                {
                    continue;
                }

                var block = _blocks[row / BlockRows];
                var r = row % BlockRows;
                facts[key] = new RowFacts(
                    prepared.Score(block.Codes.AsSpan(r * _dims, _dims), block.InvScale[r]) * queryInvScale, block.CreatedMs[r], block.Engagement[r], block.Story[r]);
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        return facts;
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

            // The slot is left empty (its time, long.MinValue, is before every filter's lower bound). Once every row
            // of a full block is gone, as the retention purge leaves the oldest blocks, the block's memory goes back and
            // no search visits it: a host purging as it ingests holds its window's rows, not its whole history.
            if (row < _graphRows && _graph is not null && !_graphStale.Remove(row))
            {
                _graph.Remove(row);
            }

            var block = _blocks[row / BlockRows];
            block.Keys[row % BlockRows] = null;
            block.CreatedMs[row % BlockRows] = long.MinValue;
            block.Removed++;
            _live--;
            if (block.Removed == BlockRows)
            {
                _blocks[row / BlockRows] = Emptied;
            }

            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>The <paramref name="n"/> rows with the highest approximate cosine similarity that pass the filter, best first.</summary>
    public IReadOnlyList<(long RowId, string Key, float Score)> Search(ReadOnlySpan<float> query, int n, VectorFilter filter) =>
        Search(query, n, filter, out _);

    /// <param name="scored">How many rows were scored in int8 (all that pass, or those the sign-bit cut kept).</param>
    /// <param name="facts">When given, filled (cleared first) with each result's <see cref="RowFacts"/> in the same order,
    /// as <see cref="Describe"/> would give them.</param>
    internal IReadOnlyList<(long RowId, string Key, float Score)> Search(ReadOnlySpan<float> query, int n, VectorFilter filter, out int scored, List<RowFacts>? facts = null)
    {
        if (filter.MinCreatedMs == long.MinValue)
        {
            filter = filter with { MinCreatedMs = long.MinValue + 1 }; // long.MinValue marks a removed row's slot
        }

        var prepared = Prepare(query, withBits: true, out var queryInvScale);
        _lock.EnterReadLock();
        try
        {
            var blocks = new List<int>();
            var rows = 0;
            for (var b = 0; b < _blocks.Count; b++)
            {
                if (Overlaps(_blocks[b], filter))
                {
                    blocks.Add(b);
                    rows += RowsIn(b);
                }
            }

            var heap = new PriorityQueue<(int Block, int Row), Rank>(n + 1);
            if (_graph is not null && rows >= GraphFromRows && GraphCaughtUp())
            {
                scored = GraphScan(prepared, n, filter, heap);
                return Results(heap, queryInvScale, facts);
            }

            var cut = _live >= BinaryPrefilterRows ? SignBitCut(blocks, rows, prepared.Bits, n, filter) : Cut.None;
            // A search alone spreads over the cores (latency); while others run, each keeps to its own thread, since
            // splitting then only adds hand-offs between searches that already fill the cores (throughput).
            var alone = Interlocked.Increment(ref _searching) == 1;
            try
            {
                scored = Scan(blocks, prepared, n, filter, cut, heap, alone ? Math.Min(Math.Min(MaxParallelism, Environment.ProcessorCount), blocks.Count) : 1);
            }
            finally
            {
                Interlocked.Decrement(ref _searching);
            }

            return Results(heap, queryInvScale, facts);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The top n, best first (held under the read lock), with each one's facts when asked for.</summary>
    private (long RowId, string Key, float Score)[] Results(PriorityQueue<(int Block, int Row), Rank> heap, float queryInvScale, List<RowFacts>? facts)
    {
        var result = new (long, string, float)[heap.Count];
        facts?.Clear();
        facts?.AddRange(new RowFacts[result.Length]);
        for (var i = result.Length - 1; i >= 0; i--)
        {
            heap.TryDequeue(out var item, out var rank);
            var block = _blocks[item.Block];
            result[i] = (block.RowIds[item.Row], block.Keys[item.Row]!, rank.Score);
            if (facts is not null)
            {
                facts[i] = new RowFacts(rank.Score * queryInvScale, block.CreatedMs[item.Row], block.Engagement[item.Row], block.Story[item.Row]);
            }
        }

        return result;
    }

    /// <summary>
    /// The graph's nearest rows that pass the filter (the predicate runs during the walk), then every row it has not
    /// reached yet (the newest, and those whose vector changed), all scored in int8 as a scan scores them; returns the rows scored.
    /// </summary>
    private unsafe int GraphScan(in Query prepared, int n, in VectorFilter filter, PriorityQueue<(int Block, int Row), Rank> heap)
    {
        var built = Volatile.Read(ref _graphRows);
        var scope = new GraphScope(this, filter, built);
        var handle = GCHandle.Alloc(scope);
        var found = n <= 512 ? stackalloc ulong[n] : new ulong[n];
        int count;
        try
        {
            var state = GCHandle.ToIntPtr(handle);
            count = _graph!.Search(prepared.Codes, found, &Admits, (void*)state);
        }
        finally
        {
            handle.Free();
        }

        var scored = 0;
        for (var i = 0; i < count; i++)
        {
            scored += OfferRow(checked((int)found[i]), prepared, n, filter, heap);
        }

        for (var row = built; row < _count; row++)
        {
            scored += OfferRow(row, prepared, n, filter, heap);
        }

        foreach (var row in _graphStale)
        {
            scored += OfferRow(row, prepared, n, filter, heap);
        }

        return scored;
    }

    private int OfferRow(int row, in Query prepared, int n, in VectorFilter filter, PriorityQueue<(int Block, int Row), Rank> heap)
    {
        var b = row / BlockRows;
        var r = row % BlockRows;
        var block = _blocks[b];
        if (ReferenceEquals(block, Emptied) || block.Keys[r] is null || !Passes(block, r, filter))
        {
            return 0;
        }

        Offer(heap, n, b, r, prepared.Score(block.Codes.AsSpan(r * _dims, _dims), block.InvScale[r]));
        return 1;
    }

    /// <summary>What a graph walk may return: rows it was given before the search began, held, and passing the filter.</summary>
    private sealed class GraphScope(Int8VectorIndex index, VectorFilter filter, int built)
    {
        public bool Admits(int row)
        {
            if (row >= built || index._graphStale.Contains(row))
            {
                return false; // scanned instead
            }

            var block = index._blocks[row / BlockRows];
            return !ReferenceEquals(block, Emptied) && block.Keys[row % BlockRows] is not null && Passes(block, row % BlockRows, filter);
        }
    }

    [UnmanagedCallersOnly]
    private static unsafe int Admits(ulong row, void* state) =>
        ((GraphScope)GCHandle.FromIntPtr((IntPtr)state).Target!).Admits((int)row) ? 1 : 0;

    /// <summary>Starts the background builder (under the write lock, once the index holds <see cref="GraphFromRows"/> rows).</summary>
    private void StartGraph()
    {
        _graph = new HnswGraph(_dims, GraphExpansion);
        _graphStop = new CancellationTokenSource();
        var stop = _graphStop.Token;
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    CatchUpGraph();
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }
        }, stop);
    }

    /// <summary>
    /// Gives the graph every row it has not taken yet, a few at a time under the read lock (searches go on; a write waits
    /// at most one batch), then the rows whose vector changed. The background builder calls it; so can a test.
    /// </summary>
    internal void CatchUpGraph()
    {
        lock (_graphBuild)
        {
            var graph = _graph;
            if (graph is null)
            {
                return;
            }

            var codes = new sbyte[_dims];
            var batch = 128 * Environment.ProcessorCount;
            while (true)
            {
                _lock.EnterReadLock();
                try
                {
                    var start = _graphRows;
                    var end = Math.Min(_count, start + batch);
                    if (start >= end || !ReferenceEquals(graph, _graph))
                    {
                        break; // caught up, or the index was disposed
                    }

                    // Adds spread over the cores (USearch takes concurrent adds), under the read lock so no write can
                    // remove or change a row between reading its codes and the graph taking them.
                    graph.Reserve(end - start);
                    Parallel.For(start, end, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new sbyte[_dims], (row, _, buffer) =>
                    {
                        if (CodesOf(row, buffer))
                        {
                            graph.Add(row, buffer);
                        }

                        return buffer;
                    }, _ => { });
                    Volatile.Write(ref _graphRows, end);
                }
                finally
                {
                    _lock.ExitReadLock();
                }
            }

            _lock.EnterWriteLock();
            try
            {
                if (!ReferenceEquals(graph, _graph))
                {
                    return;
                }

                foreach (var row in _graphStale)
                {
                    if (CodesOf(row, codes))
                    {
                        graph.Add(row, codes);
                    }
                }

                _graphStale.Clear();
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }
    }

    /// <summary>A held row's int8 codes (stored with <see cref="Int8Dot.Offset"/>); false when the row was removed.</summary>
    private bool CodesOf(int row, Span<sbyte> codes)
    {
        var block = _blocks[row / BlockRows];
        var r = row % BlockRows;
        if (ReferenceEquals(block, Emptied) || block.Keys[r] is null)
        {
            return false;
        }

        var stored = block.Codes.AsSpan(r * _dims, _dims);
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = (sbyte)(stored[i] - Int8Dot.Offset);
        }

        return true;
    }

    /// <summary>
    /// Whether searches go through the graph: it holds at least <see cref="GraphFromRows"/> rows and the rows it has not
    /// reached (scanned whole, without the sign-bit cut) are few: while it catches up after a start, searches scan.
    /// </summary>
    private bool GraphCaughtUp()
    {
        var built = Volatile.Read(ref _graphRows);
        return built >= GraphFromRows && _count - built <= Math.Max(BlockRows, _count / 20);
    }

    /// <summary>Bytes the graph holds (0 without one).</summary>
    internal long GraphBytes => _graph?.Bytes ?? 0;

    /// <summary>Slots the graph has reserved (0 without one).</summary>
    internal long GraphReserved => _graph?.Reserved ?? 0;

    /// <summary>Rows the graph has been given so far (0 until the index reaches <see cref="GraphFromRows"/>).</summary>
    public int GraphRows => Volatile.Read(ref _graphRows);

    /// <summary>Stops the graph's builder and frees the graph.</summary>
    public void Dispose()
    {
        _lock.EnterWriteLock();
        try
        {
            _graphStop?.Cancel();
            _graph?.Dispose();
            _graph = null;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Scores the blocks in scope into <paramref name="heap"/> on up to <paramref name="workers"/> cores; returns the rows scored.</summary>
    private int Scan(List<int> blocks, in Query query, int n, VectorFilter filter, Cut cut, PriorityQueue<(int Block, int Row), Rank> heap, int workers)
    {
        var total = 0;
        if (workers <= 1)
        {
            var kept = new List<int>();
            foreach (var b in blocks)
            {
                total += ScanBlock(b, query, n, filter, cut, heap, kept);
            }
        }
        else
        {
            // Blocks are handed out one at a time to whichever core is free (a core that starts late still finds
            // work, and the calling thread never waits on a fixed half); each core keeps its own top n, merged after.
            var gate = new object();
            var shared = query;
            Parallel.For(
                0,
                blocks.Count,
                new ParallelOptions { MaxDegreeOfParallelism = workers },
                () => (Heap: new PriorityQueue<(int, int), Rank>(n + 1), Kept: new List<int>(), Scored: 0),
                (i, _, local) =>
                {
                    local.Scored += ScanBlock(blocks[i], shared, n, filter, cut, local.Heap, local.Kept);
                    return local;
                },
                local =>
                {
                    lock (gate)
                    {
                        total += local.Scored;
                        while (local.Heap.TryDequeue(out var item, out var rank))
                        {
                            Offer(heap, n, item, rank);
                        }
                    }
                });
        }

        return total;
    }

    /// <summary>
    /// A row's place in a top n: its score, and on equal scores (a post and its exact repeats share one vector) the later
    /// row first, so which of them make the top n never depends on which core scanned which block first.
    /// </summary>
    private readonly record struct Rank(float Score, int Block, int Row) : IComparable<Rank>
    {
        public int CompareTo(Rank other)
        {
            var c = Score.CompareTo(other.Score);
            return c != 0 ? c : Block != other.Block ? Block.CompareTo(other.Block) : Row.CompareTo(other.Row);
        }
    }

    private static void Offer(PriorityQueue<(int, int), Rank> heap, int n, (int Block, int Row) item, Rank rank)
    {
        if (heap.Count < n)
        {
            heap.Enqueue(item, rank);
        }
        else if (heap.TryPeek(out _, out var min) && rank.CompareTo(min) > 0)
        {
            heap.DequeueEnqueue(item, rank);
        }
    }

    private static void Offer(PriorityQueue<(int, int), Rank> heap, int n, int block, int row, float score) =>
        Offer(heap, n, (block, row), new Rank(score, block, row));

    /// <summary>
    /// Which rows the sign-bit pass keeps: those nearer than <see cref="Distance"/> by Hamming distance, and of those
    /// at exactly that distance, <see cref="AtDistanceShare"/> of a block's rows. <see cref="None"/>: every row is scored in int8.
    /// </summary>
    private readonly record struct Cut(int Distance, double AtDistanceShare)
    {
        public static readonly Cut None = new(-1, 0);

        public bool IsNone => Distance < 0;
    }

    /// <summary>
    /// Rows sampled to place the sign-bit cut (in runs of <see cref="SampleRun"/> neighbours, read as the memory lies):
    /// an eighth of the rows in scope, at least <see cref="MinSampleRows"/> and at most this.
    /// </summary>
    internal const int SampleRows = 8_192;

    private const int MinSampleRows = 2_048;

    private const int SampleRun = 32;

    /// <summary>
    /// Places the cut that keeps <see cref="PrefilterFraction"/> of the rows in scope, from the Hamming distances of a
    /// sample of them spread evenly over the scope (every row when there are few), so the scan itself reads each row
    /// once. Rows at the cut's distance are kept only up to the share: with clustered vectors thousands of rows can sit
    /// at one distance, and keeping them all made the int8 pass (and the query's time) swing with the query.
    /// </summary>
    private Cut SignBitCut(List<int> blocks, int rows, ulong[] qBits, int n, in VectorFilter filter)
    {
        // Runs of neighbouring rows rather than single rows: one scattered row costs a memory round trip, a run streams.
        var target = Math.Clamp(rows / 8, MinSampleRows, SampleRows);
        var spacing = rows <= target ? SampleRun : Math.Max(SampleRun, (int)((long)rows * SampleRun / target));
        var step = (double)spacing / SampleRun; // rows in scope per sampled row
        var histogram = new int[_words * 64 + 1];
        var sampled = 0;
        foreach (var b in blocks)
        {
            var block = _blocks[b];
            var everyRow = EveryRowPasses(block, filter);
            ref var bits = ref MemoryMarshal.GetArrayDataReference(block.Bits);
            var count = RowsIn(b);
            for (var start = 0; start < count; start += spacing)
            {
                for (var r = start; r < Math.Min(start + SampleRun, count); r++)
                {
                    if (everyRow || Passes(block, r, filter))
                    {
                        histogram[Hamming(qBits, ref Unsafe.Add(ref bits, r * _words))]++;
                        sampled++;
                    }
                }
            }
        }

        var passing = (double)sampled * step;
        var keep = Math.Max(Math.Max(n, MinPrefilter), PrefilterFraction * passing);
        if (keep >= passing || sampled == 0)
        {
            return Cut.None; // few rows pass: scoring them all costs less than choosing among them
        }

        var below = 0.0; // rows (estimated) nearer than the cut
        for (var d = 0; d < histogram.Length; d++)
        {
            var at = (double)histogram[d] * step;
            if (below + at >= keep)
            {
                return new Cut(d, (keep - below) / rows);
            }

            below += at;
        }

        return Cut.None;
    }

    /// <summary>One block's rows that pass the filter, scored in int8 into the worker's top n: all, or those the cut keeps; returns how many.</summary>
    private int ScanBlock(int blockIndex, in Query query, int n, in VectorFilter filter, Cut cut, PriorityQueue<(int, int), Rank> heap, List<int> kept)
    {
        var block = _blocks[blockIndex];
        var rows = RowsIn(blockIndex);
        if (cut.IsNone)
        {
            return ScoreAll(block, rows, blockIndex, query, n, filter, heap);
        }

        var everyRow = EveryRowPasses(block, filter);
        var atDistance = (int)Math.Ceiling(cut.AtDistanceShare * rows);
        var distance = cut.Distance;
        ref var bits = ref MemoryMarshal.GetArrayDataReference(block.Bits);
        var qBits = query.Bits;
        kept.Clear();
        for (var r = 0; r < rows; r++)
        {
            if (!everyRow && !Passes(block, r, filter))
            {
                continue;
            }

            var d = Hamming(qBits, ref Unsafe.Add(ref bits, r * _words));
            if (d < distance || (d == distance && atDistance-- > 0))
            {
                kept.Add(r);
            }
        }

        ScoreKept(block, blockIndex, kept, query, n, heap);
        return kept.Count;
    }

    private const int PrefetchAhead = 8;

    /// <summary>
    /// int8 scores for the rows the cut kept. They are scattered over the block: each one's int8 row is fetched a few
    /// rows ahead of use (a software prefetch), so the memory waits overlap instead of coming one after another.
    /// </summary>
    private unsafe void ScoreKept(Block block, int blockIndex, List<int> rows, in Query query, int n, PriorityQueue<(int, int), Rank> heap)
    {
        var q = query.Codes;
        fixed (byte* codes = block.Codes)
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
                Offer(heap, n, blockIndex, r, query.Score(new ReadOnlySpan<byte>(codes + (r * _dims), _dims), block.InvScale[r]));
            }
        }
    }

    private int RowsIn(int block) => Math.Min(BlockRows, _count - block * BlockRows);

    private static bool Overlaps(Block block, VectorFilter filter) =>
        block.MaxCreatedMs >= filter.MinCreatedMs && block.MinCreatedMs <= filter.MaxCreatedMs;

    /// <summary>A block wholly inside the window, with nothing removed and no other filter, needs no check per row.</summary>
    private static bool EveryRowPasses(Block block, in VectorFilter filter) =>
        block.Removed == 0 && block.MinCreatedMs >= filter.MinCreatedMs && block.MaxCreatedMs <= filter.MaxCreatedMs
        && filter.Source == -1 && filter.Lang == -1 && filter.AllowedRowIds is null;

    private static bool Passes(Block block, int r, in VectorFilter filter)
    {
        var created = block.CreatedMs[r];
        return created >= filter.MinCreatedMs && created <= filter.MaxCreatedMs
            && (filter.Source == -1 || block.Source[r] == filter.Source)
            && (filter.Lang == -1 || block.Lang[r] == filter.Lang)
            && (filter.AllowedRowIds is null || filter.AllowedRowIds.Contains(block.RowIds[r]));
    }

    /// <summary>Hamming distance between the query's bits and one row's; unrolled for 384 dimensions (six words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hamming(ulong[] q, ref ulong row)
    {
        if (q.Length == 6)
        {
            return BitOperations.PopCount(q[0] ^ row)
                + BitOperations.PopCount(q[1] ^ Unsafe.Add(ref row, 1))
                + BitOperations.PopCount(q[2] ^ Unsafe.Add(ref row, 2))
                + BitOperations.PopCount(q[3] ^ Unsafe.Add(ref row, 3))
                + BitOperations.PopCount(q[4] ^ Unsafe.Add(ref row, 4))
                + BitOperations.PopCount(q[5] ^ Unsafe.Add(ref row, 5));
        }

        var d = 0;
        for (var w = 0; w < q.Length; w++)
        {
            d += BitOperations.PopCount(q[w] ^ Unsafe.Add(ref row, w));
        }

        return d;
    }

    /// <summary>int8 scores for every row of the block that passes the filter (indexes too small for the sign-bit cut).</summary>
    private int ScoreAll(Block block, int rows, int blockIndex, in Query query, int n, in VectorFilter filter, PriorityQueue<(int, int), Rank> heap)
    {
        var codes = block.Codes;
        var scored = 0;
        for (var r = 0; r < rows; r++)
        {
            if (!Passes(block, r, filter))
            {
                continue;
            }

            scored++;
            Offer(heap, n, blockIndex, r, query.Score(codes.AsSpan(r * _dims, _dims), block.InvScale[r]));
        }

        return scored;
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

    /// <summary>
    /// A query as the scan scores it: int8 codes, the sum the rows' stored offset adds, and (for the sign-bit pass) its
    /// sign bits. <paramref name="invScale"/> is the query's own scale, which ranking leaves out (the same for every
    /// row) and a cosine needs.
    /// </summary>
    private Query Prepare(ReadOnlySpan<float> query, bool withBits, out float invScale)
    {
        if (query.Length != _dims)
        {
            throw new ArgumentException($"query has {query.Length} dimensions, index has {_dims}", nameof(query));
        }

        var q = new sbyte[_dims];
        invScale = Quantize(query, q);
        var bits = withBits ? new ulong[_words] : [];
        if (withBits)
        {
            SignBits(query, bits);
        }

        return new Query(q, Int8Dot.Offset * Sum(q), bits);
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

    /// <summary><see cref="Quantize"/>, each code stored as the byte code + <see cref="Int8Dot.Offset"/>.</summary>
    private static float QuantizeOffset(ReadOnlySpan<float> vector, Span<byte> stored)
    {
        var codes = MemoryMarshal.Cast<byte, sbyte>(stored);
        var invScale = Quantize(vector, codes);
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = (byte)(codes[i] + Int8Dot.Offset);
        }

        return invScale;
    }

    private static int Sum(ReadOnlySpan<sbyte> codes)
    {
        var sum = 0;
        foreach (var c in codes)
        {
            sum += c;
        }

        return sum;
    }

    /// <summary>A search's query: its int8 codes, what the rows' stored offset adds to each dot product, its sign bits.</summary>
    private readonly record struct Query(sbyte[] Codes, int OffsetSum, ulong[] Bits)
    {
        /// <summary>Approximate cosine of the query with one stored row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Score(ReadOnlySpan<byte> row, float invScale) => (Int8Dot.OffsetRow(row, Codes) - OffsetSum) * invScale;
    }

    private sealed class Block(int dims, int words)
    {
        /// <summary>Each row's int8 codes, stored as code + <see cref="Int8Dot.Offset"/>.</summary>
        public readonly byte[] Codes = new byte[BlockRows * dims];
        public readonly ulong[] Bits = new ulong[BlockRows * words];

        /// <summary>The span of the times of every post ever written to the block (removals do not narrow it).</summary>
        public long MinCreatedMs = long.MaxValue;

        public long MaxCreatedMs = long.MinValue;

        /// <summary>Rows removed from the block (their slots never match).</summary>
        public int Removed;

        public readonly float[] InvScale = new float[BlockRows];
        public readonly long[] CreatedMs = new long[BlockRows];
        public readonly long[] Engagement = new long[BlockRows];

        /// <summary>A hash of each row's story (cluster, else exact text, else key): rows that share it are one story.</summary>
        public readonly int[] Story = new int[BlockRows];
        public readonly long[] RowIds = new long[BlockRows];
        public readonly short[] Source = new short[BlockRows];
        public readonly short[] Lang = new short[BlockRows];
        public readonly string?[] Keys = new string?[BlockRows];
    }
}
