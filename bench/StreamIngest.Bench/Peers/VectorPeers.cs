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
/// USearch (HNSW, cosine) holding f32 or quantising to int8 itself, as a user would feed it: through the store's
/// <see cref="HnswGraph"/> (the same C library calls, growth and thread contexts), bulk adds spread over the cores as
/// its docs advise, a window as a predicate during the graph walk, removals freeing their slots for later adds.
/// </summary>
internal sealed unsafe class USearchVectorPeer : IVectorPeer
{
    private readonly HnswGraph _graph;

    /// <summary>Each key's time, pinned: the window predicate reads it from native code during the walk.</summary>
    private readonly long[] _created;

    /// <param name="capacity">Keys run from 0 to this.</param>
    public USearchVectorPeer(USearchNative.Scalar scalar, int dims, int connectivity, int expansionAdd, long capacity)
    {
        _graph = new HnswGraph(dims, expansionSearch: 64, scalar, connectivity, expansionAdd);
        _created = GC.AllocateArray<long>(checked((int)capacity), pinned: true);
        Name = $"usearch_{(scalar == USearchNative.Scalar.I8 ? "i8" : "f32")}";
    }

    public string Name { get; }

    public int Connectivity => _graph.Connectivity;

    public int ExpansionAdd => _graph.ExpansionAdd;

    public int ExpansionSearch
    {
        get => _graph.ExpansionSearch;
        set => _graph.ExpansionSearch = value;
    }

    public long NativeBytes => _graph.Bytes;

    public void Build(IReadOnlyList<PeerDoc> docs)
    {
        _graph.Reserve(docs.Count);
        Parallel.For(0, docs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => Add(docs[i]));
    }

    public void Add(PeerDoc doc)
    {
        _created[doc.Key] = doc.CreatedMs;
        _graph.Add(checked((int)doc.Key), doc.Vector);
    }

    public void Remove(PeerDoc doc) => _graph.Remove(checked((int)doc.Key));

    public IReadOnlyList<long> Search(float[] query, int n, long sinceMs, long untilMs)
    {
        var keys = new ulong[n];
        int found;
        if (sinceMs == long.MinValue && untilMs == long.MaxValue)
        {
            found = _graph.Search(query, keys);
        }
        else
        {
            fixed (long* created = _created)
            {
                var window = new Window { Created = created, Since = sinceMs, Until = untilMs };
                found = _graph.Search(query, keys, &InWindow, &window);
            }
        }

        return [.. keys.Take(found).Select(k => (long)k)];
    }

    public void Dispose() => _graph.Dispose();

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
