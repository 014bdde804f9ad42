using StreamIngest.Store;

namespace StreamIngest.Embedded.Vectors;

/// <summary>The embedded store's figures: the posts its in-memory vector index can find; nothing is charged.</summary>
public sealed class VectorIndexFigures(Int8VectorIndex index) : IStoreFigures
{
    public int? Searchable => index.Count;

    public double? RuPerPost => null;

    public double? RuPerQuery => null;

    public int? GraphRows => index.GraphRows > 0 ? index.GraphRows : null;
}
