using System.Runtime.InteropServices;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// USearch's HNSW graph over the vector index's rows (keys are row numbers), holding int8 codes with the cosine metric:
/// a search walks the graph with a predicate the caller evaluates per row, instead of reading every row in scope.
/// Settings from <c>bench peers</c> (decision 0011): connectivity 16, expansion 128 when adding, 256 when searching
/// (recall@10 ≥ 0.99 on 1M posts, with and without a window). Thread-safe: adds, removals and searches run
/// concurrently; growing the graph waits for them.
/// </summary>
internal sealed unsafe class HnswGraph : IDisposable
{
    private const int Connectivity = 16;
    private const int ExpansionAdd = 128;

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

    public HnswGraph(int dims, int expansionSearch)
    {
        var options = new USearchNative.InitOptions
        {
            MetricKind = USearchNative.Metric.Cos,
            Quantization = USearchNative.Scalar.I8,
            Dimensions = (nuint)dims,
            Connectivity = Connectivity,
            ExpansionAdd = ExpansionAdd,
            ExpansionSearch = (nuint)expansionSearch,
        };
        _index = USearchNative.Init(&options, out var error);
        USearchNative.Check(error);
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

    /// <summary>Adds a row's int8 codes under its row number.</summary>
    public void Add(int row, ReadOnlySpan<sbyte> codes)
    {
        Reserve(1);
        _contexts.Wait();
        _grow.EnterReadLock();
        try
        {
            // The index's own codes, given as int8: USearch keeps them as they are (its own quantisation of a unit
            // vector, × 127, would leave a 384-d vector a handful of levels per dimension).
            fixed (sbyte* v = codes)
            {
                USearchNative.AddI8(_index, (ulong)row, v, USearchNative.Scalar.I8, out var error);
                USearchNative.Check(error);
                Interlocked.Increment(ref _held);
            }
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

    /// <summary>Up to <c>rows.Length</c> rows nearest <paramref name="query"/> (int8 codes, quantised as the rows are) that <paramref name="filter"/> admits; returns how many.</summary>
    public int Search(ReadOnlySpan<sbyte> query, Span<ulong> rows, delegate* unmanaged<ulong, void*, int> filter, void* state)
    {
        var distances = stackalloc float[rows.Length];
        _contexts.Wait();
        _grow.EnterReadLock();
        try
        {
            fixed (sbyte* q = query)
            fixed (ulong* keys = rows)
            {
                var found = USearchNative.FilteredSearchI8(_index, q, USearchNative.Scalar.I8, (nuint)rows.Length, filter, state, keys, distances, out var error);
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
