using System.Runtime.InteropServices;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// USearch's HNSW graph with the cosine metric over numbered rows (the vector index's row numbers; <c>bench peers</c>'
/// posts), holding int8 (the vector index: its own codes) or f32: a search walks the graph, with a predicate the caller
/// evaluates per row when it has one, instead of reading every row in scope. Settings from <c>bench peers</c> (decision
/// 0011): connectivity 16, expansion 128 when adding, 256 when searching (recall@10 ≥ 0.99 on 1M posts, with and
/// without a window). Thread-safe: adds, removals and searches run concurrently; growing the graph waits for them.
/// </summary>
internal sealed unsafe class HnswGraph : IDisposable
{
    private readonly IntPtr _index;
    private readonly ReaderWriterLockSlim _grow = new();

    /// <summary>
    /// USearch keeps one search context per concurrent caller, as many as it is told; a caller beyond them would share
    /// one, so calls wait for a free one here.
    /// </summary>
    private static readonly int Contexts = (Environment.ProcessorCount * 4) + 2;
    private readonly SemaphoreSlim _contexts = new(Contexts, Contexts);
    private long _reserved;

    /// <summary>Rows held (added and not removed); a removed row's slot is taken by the next add.</summary>
    private long _held;
    private bool _disposed;

    public HnswGraph(int dims, int expansionSearch, USearchNative.Scalar quantization = USearchNative.Scalar.I8, int connectivity = 16, int expansionAdd = 128)
    {
        var options = new USearchNative.InitOptions
        {
            MetricKind = USearchNative.Metric.Cos,
            Quantization = quantization,
            Dimensions = (nuint)dims,
            Connectivity = (nuint)connectivity,
            ExpansionAdd = (nuint)expansionAdd,
            ExpansionSearch = (nuint)expansionSearch,
        };
        _index = USearchNative.Init(&options, out var error);
        USearchNative.Check(error);
        (Connectivity, ExpansionAdd, ExpansionSearch) = (connectivity, expansionAdd, expansionSearch);
    }

    public int Connectivity { get; }

    public int ExpansionAdd { get; }

    /// <summary>How widely a search looks; changed between searches, not during one.</summary>
    public int ExpansionSearch
    {
        get;
        set
        {
            USearchNative.ChangeExpansionSearch(_index, (nuint)value, out var error);
            USearchNative.Check(error);
            field = value;
        }
    }

    /// <summary>Bytes the graph holds (USearch's own count).</summary>
    public long Bytes
    {
        get
        {
            var bytes = USearchNative.MemoryUsage(_index, out var error);
            USearchNative.Check(error);
            return (long)bytes;
        }
    }

    /// <summary>Slots reserved: the rows held and room for more, never the highest row number (rows are numbered for ever).</summary>
    internal long Reserved => Volatile.Read(ref _reserved);

    /// <summary>Makes room for <paramref name="adding"/> more rows before they are added, concurrently or not.</summary>
    public void Reserve(long adding)
    {
        var rows = Volatile.Read(ref _held) + adding;
        if (rows <= Volatile.Read(ref _reserved))
        {
            return;
        }

        _grow.EnterWriteLock();
        try
        {
            if (rows > _reserved)
            {
                // Grown by a quarter at a time (reserving resets the contexts to the core count; they are set again).
                var slots = Math.Max(rows, _reserved + (_reserved / 4) + 16_384);
                USearchNative.Reserve(_index, (nuint)slots, out var error);
                USearchNative.Check(error);
                USearchNative.ChangeThreadsAdd(_index, (nuint)Contexts, out error);
                USearchNative.Check(error);
                USearchNative.ChangeThreadsSearch(_index, (nuint)Contexts, out error);
                USearchNative.Check(error);
                Volatile.Write(ref _reserved, slots);
            }
        }
        finally
        {
            _grow.ExitWriteLock();
        }
    }

    /// <summary>Adds a row's int8 codes under its row number: USearch keeps them as they are (its own quantisation of a
    /// unit vector, × 127, would leave a 384-d vector a handful of levels per dimension).</summary>
    public void Add(int row, ReadOnlySpan<sbyte> codes)
    {
        fixed (sbyte* v = codes)
        {
            Add(row, v, USearchNative.Scalar.I8);
        }
    }

    /// <summary>Adds a row's vector under its row number, quantised as the graph holds its rows.</summary>
    public void Add(int row, ReadOnlySpan<float> vector)
    {
        fixed (float* v = vector)
        {
            Add(row, v, USearchNative.Scalar.F32);
        }
    }

    private void Add(int row, void* vector, USearchNative.Scalar kind)
    {
        Reserve(1);
        _contexts.Wait();
        _grow.EnterReadLock();
        try
        {
            USearchNative.Add(_index, (ulong)row, vector, kind, out var error);
            USearchNative.Check(error);
            Interlocked.Increment(ref _held);
        }
        finally
        {
            _grow.ExitReadLock();
            _contexts.Release();
        }
    }

    public void Remove(int row)
    {
        _contexts.Wait();
        _grow.EnterReadLock();
        try
        {
            var removed = USearchNative.Remove(_index, (ulong)row, out var error);
            USearchNative.Check(error);
            Interlocked.Add(ref _held, -(long)removed);
        }
        finally
        {
            _grow.ExitReadLock();
            _contexts.Release();
        }
    }

    /// <summary>
    /// Up to <c>rows.Length</c> rows nearest <paramref name="query"/> (int8 codes, quantised as the rows are) that
    /// <paramref name="filter"/> admits; returns how many.
    /// </summary>
    public int Search(ReadOnlySpan<sbyte> query, Span<ulong> rows, delegate* unmanaged<ulong, void*, int> filter, void* state)
    {
        fixed (sbyte* q = query)
        {
            return Search(q, USearchNative.Scalar.I8, rows, filter, state);
        }
    }

    /// <summary>Up to <c>rows.Length</c> rows nearest <paramref name="query"/>, all of them or those <paramref name="filter"/> admits when there is one.</summary>
    public int Search(ReadOnlySpan<float> query, Span<ulong> rows, delegate* unmanaged<ulong, void*, int> filter = null, void* state = null)
    {
        fixed (float* q = query)
        {
            return Search(q, USearchNative.Scalar.F32, rows, filter, state);
        }
    }

    private int Search(void* query, USearchNative.Scalar kind, Span<ulong> rows, delegate* unmanaged<ulong, void*, int> filter, void* state)
    {
        var distances = stackalloc float[rows.Length];
        _contexts.Wait();
        _grow.EnterReadLock();
        try
        {
            fixed (ulong* keys = rows)
            {
                IntPtr error;
                var found = filter is null
                    ? USearchNative.Search(_index, query, kind, (nuint)rows.Length, keys, distances, out error)
                    : USearchNative.FilteredSearch(_index, query, kind, (nuint)rows.Length, filter, state, keys, distances, out error);
                USearchNative.Check(error);
                return (int)found;
            }
        }
        finally
        {
            _grow.ExitReadLock();
            _contexts.Release();
        }
    }

    public void Dispose()
    {
        _grow.EnterWriteLock();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            USearchNative.Free(_index, out _);
            _contexts.Dispose();
        }
        finally
        {
            _grow.ExitWriteLock();
        }
    }
}
