using System.Runtime.InteropServices;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Bench.Peers;

/// <summary>One post as every system under test indexes it: a numeric key, its time, language, text and fp32 vector.</summary>
internal sealed record PeerDoc(long Key, long CreatedMs, string? Lang, string Text, float[] Vector);

/// <summary>A vector index under test: built, searched with an optional time window, changed while searched.</summary>
internal interface IVectorPeer : IDisposable
{
    string Name { get; }

    /// <summary>Bytes held outside the managed heap (the managed heap is measured around the build).</summary>
    long NativeBytes { get; }

    /// <summary>Adds the posts the way the library is meant to be fed in bulk.</summary>
    void Build(IReadOnlyList<PeerDoc> docs);

    void Add(PeerDoc doc);

    void Remove(PeerDoc doc);

    /// <summary>The keys of up to <paramref name="n"/> nearest posts created within [since, until].</summary>
    IReadOnlyList<long> Search(float[] query, int n, long sinceMs, long untilMs);
}

/// <summary>
/// Ours: the store's int8 index with its defaults, as the host builds it (<c>ours_graph</c>: with the HNSW graph from
/// 200,000 posts, caught up before the first question), or with the graph off (<c>ours_scan</c>).
/// </summary>
internal sealed class OursVectorPeer(int dims, bool graph) : IVectorPeer
{
    private readonly Int8VectorIndex _index = new SqliteOptions { VectorGraphFromPosts = graph ? new SqliteOptions().VectorGraphFromPosts : 0 }.NewVectorIndex(dims);

    public string Name => graph ? "ours_graph" : "ours_scan";

    public long NativeBytes => _index.GraphBytes;

    public void Build(IReadOnlyList<PeerDoc> docs)
    {
        foreach (var d in docs)
        {
            Add(d);
        }

        _index.CatchUpGraph();
    }

    public void Add(PeerDoc doc) => _index.Upsert(Key(doc.Key), doc.Key, doc.CreatedMs, "x", doc.Lang, doc.Vector);

    public void Remove(PeerDoc doc) => _index.Remove(Key(doc.Key));

    public IReadOnlyList<long> Search(float[] query, int n, long sinceMs, long untilMs) =>
        [.. _index.Search(query, n, new VectorFilter(sinceMs, untilMs)).Select(h => h.RowId)];

    public void Dispose() => _index.Dispose();

    private static string Key(long key) => key.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// USearch (HNSW, cosine) holding f32 or int8, through its C library: bulk adds spread over the cores as its docs
/// advise, a window as a predicate during the graph walk (<c>usearch_filtered_search</c>), removals as tombstones.
/// </summary>
internal sealed unsafe class USearchVectorPeer : IVectorPeer
{
    private readonly IntPtr _index;
    private readonly long* _created;
    private readonly long _capacity;
    private readonly ReaderWriterLockSlim _grow = new(); // growing reallocates: no add or search may run meanwhile
    private long _reserved;
    private long _slots;

    /// <param name="capacity">Keys run from 0 to this (the window predicate reads each key's time from an array).</param>
    public USearchVectorPeer(USearchNative.Scalar scalar, int dims, int connectivity, int expansionAdd, long capacity)
    {
        var options = new USearchNative.InitOptions
        {
            MetricKind = USearchNative.Metric.Cos,
            Quantization = scalar,
            Dimensions = (nuint)dims,
            Connectivity = (nuint)connectivity,
            ExpansionAdd = (nuint)expansionAdd,
            ExpansionSearch = 64,
        };
        _index = USearchNative.Init(&options, out var error);
        USearchNative.Check(error);
        _capacity = capacity;
        _created = (long*)NativeMemory.Alloc((nuint)capacity, sizeof(long));
        Name = $"usearch_{(scalar == USearchNative.Scalar.I8 ? "i8" : "f32")}";
        Connectivity = connectivity;
        ExpansionAdd = expansionAdd;
    }

    public string Name { get; }

    public int Connectivity { get; }

    public int ExpansionAdd { get; }

    public int ExpansionSearch
    {
        get;
        set
        {
            USearchNative.ChangeExpansionSearch(_index, (nuint)value, out var error);
            USearchNative.Check(error);
            field = value;
        }
    } = 64;

    public long NativeBytes
    {
        get
        {
            var bytes = USearchNative.MemoryUsage(_index, out var error);
            USearchNative.Check(error);
            return (long)bytes;
        }
    }

    public void Build(IReadOnlyList<PeerDoc> docs)
    {
        Reserve(docs.Count);
        Parallel.For(0, docs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => Add(docs[i]));
    }

    public void Add(PeerDoc doc)
    {
        if (doc.Key >= _capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(doc), $"key {doc.Key} is beyond the reserved {_capacity}");
        }

        // A removed vector keeps its slot until the index is rebuilt, so slots are counted by adds, not by size.
        if (Interlocked.Increment(ref _slots) > Volatile.Read(ref _reserved))
        {
            _grow.EnterWriteLock();
            try
            {
                if (_slots > _reserved)
                {
                    Reserve(Math.Max(_slots, _reserved + (_reserved / 4) + 1024));
                }
            }
            finally
            {
                _grow.ExitWriteLock();
            }
        }

        _created[doc.Key] = doc.CreatedMs;
        _grow.EnterReadLock();
        try
        {
            fixed (float* v = doc.Vector)
            {
                USearchNative.Add(_index, (ulong)doc.Key, v, USearchNative.Scalar.F32, out var error);
                USearchNative.Check(error);
            }
        }
        finally
        {
            _grow.ExitReadLock();
        }
    }

    private void Reserve(long slots)
    {
        USearchNative.Reserve(_index, (nuint)slots, out var error);
        USearchNative.Check(error);
        // A thread context per concurrent caller: the bulk add's workers, or the writer beside two searches.
        USearchNative.ChangeThreadsAdd(_index, (nuint)Environment.ProcessorCount + 2, out error);
        USearchNative.Check(error);
        USearchNative.ChangeThreadsSearch(_index, (nuint)Environment.ProcessorCount + 2, out error);
        USearchNative.Check(error);
        Volatile.Write(ref _reserved, slots);
    }

    public void Remove(PeerDoc doc)
    {
        _grow.EnterReadLock();
        try
        {
            USearchNative.Remove(_index, (ulong)doc.Key, out var error);
            USearchNative.Check(error);
        }
        finally
        {
            _grow.ExitReadLock();
        }
    }

    public IReadOnlyList<long> Search(float[] query, int n, long sinceMs, long untilMs)
    {
        var keys = stackalloc ulong[n];
        var distances = stackalloc float[n];
        nuint found;
        IntPtr error;
        _grow.EnterReadLock();
        try
        {
            fixed (float* q = query)
            {
                if (sinceMs == long.MinValue && untilMs == long.MaxValue)
                {
                    found = USearchNative.Search(_index, q, USearchNative.Scalar.F32, (nuint)n, keys, distances, out error);
                }
                else
                {
                    var window = new Window { Created = _created, Since = sinceMs, Until = untilMs };
                    found = USearchNative.FilteredSearch(_index, q, USearchNative.Scalar.F32, (nuint)n, &InWindow, &window, keys, distances, out error);
                }
            }
        }
        finally
        {
            _grow.ExitReadLock();
        }

        USearchNative.Check(error);
        var result = new long[(int)found];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (long)keys[i];
        }

        return result;
    }

    public void Dispose()
    {
        USearchNative.Free(_index, out _);
        NativeMemory.Free(_created);
        _grow.Dispose();
    }

    [UnmanagedCallersOnly]
    private static int InWindow(ulong key, void* state)
    {
        var window = (Window*)state;
        var created = window->Created[key];
        return created >= window->Since && created <= window->Until ? 1 : 0;
    }

    private struct Window
    {
        public long* Created;
        public long Since;
        public long Until;
    }
}
