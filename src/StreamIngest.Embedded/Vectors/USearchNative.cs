using System.Runtime.InteropServices;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// USearch's C API (<c>libusearch_c</c>, shipped in the Cloud.Unum.USearch package), declared as <c>c/usearch.h</c>
/// gives it. The package's C# class covers add, search and remove but not <c>usearch_filtered_search</c> (a predicate
/// evaluated during the graph walk), which a time window needs, nor the memory it holds.
/// </summary>
internal static unsafe partial class USearchNative
{
    private const string Library = "libusearch_c";

    public enum Metric
    {
        Cos = 1,
        Ip = 2,
    }

    public enum Scalar
    {
        F32 = 1,
        I8 = 4,
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct InitOptions
    {
        public Metric MetricKind;
        public IntPtr Metric;
        public Scalar Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi; // C bool: several vectors per key

    }

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    public static partial IntPtr Init(InitOptions* options, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    public static partial void Free(IntPtr index, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    public static partial void Reserve(IntPtr index, nuint capacity, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_memory_usage")]
    public static partial nuint MemoryUsage(IntPtr index, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    public static partial void ChangeThreadsAdd(IntPtr index, nuint threads, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    public static partial void ChangeThreadsSearch(IntPtr index, nuint threads, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    public static partial void ChangeExpansionSearch(IntPtr index, nuint expansion, out IntPtr error);

    /// <summary>Adds <paramref name="vector"/>, whose scalars are of <paramref name="kind"/>, under <paramref name="key"/>.</summary>
    [LibraryImport(Library, EntryPoint = "usearch_add")]
    public static partial void Add(IntPtr index, ulong key, void* vector, Scalar kind, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_remove")]
    public static partial nuint Remove(IntPtr index, ulong key, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    public static partial nuint Search(IntPtr index, void* query, Scalar kind, nuint count, ulong* keys, float* distances, out IntPtr error);

    [LibraryImport(Library, EntryPoint = "usearch_filtered_search")]
    public static partial nuint FilteredSearch(
        IntPtr index, void* query, Scalar kind, nuint count, delegate* unmanaged<ulong, void*, int> filter, void* state, ulong* keys, float* distances, out IntPtr error);

    /// <summary>Throws when the last call set its error string.</summary>
    public static void Check(IntPtr error)
    {
        if (error != IntPtr.Zero)
        {
            throw new InvalidOperationException("usearch: " + Marshal.PtrToStringUTF8(error));
        }
    }
}
