using System.ComponentModel.DataAnnotations;

namespace StreamIngest.Embedded.Sqlite;

public sealed class SqliteOptions
{
    public const string Section = "Store";

    /// <summary>Folder for the database file (created when missing).</summary>
    [Required]
    public string DataPath { get; set; } = "data";

    public string FileName { get; set; } = "streamingest.db";

    /// <summary>Posts older than this are purged; 0 keeps everything.</summary>
    [Range(0, 24 * 365 * 10)]
    public double RetentionHours { get; set; } = 48;

    [Range(1, 86_400)]
    public int PurgeIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// Posts held from which a vector search first ranks every post by its sign bits and scores only the nearest
    /// <see cref="VectorPrefilterShare"/> in int8 (below it, every post in scope is scored in int8).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int VectorPrefilterFromPosts { get; set; } = 20_000;

    /// <summary>
    /// Share of the posts in scope the sign-bit pass keeps for int8 scoring: recall@10 against the full int8 scan on
    /// the real CrisisNLP vectors (`bench relevance`, int8 / fp32 vectors) 0.783 / 0.779 at 0.1%, 0.993 / 0.997 at 1%,
    /// 1.0 from 2%; fewer is faster (1M posts, no window: hybrid p50 8.4 → 6.6 ms at 3% against 5%).
    /// </summary>
    [Range(0.0001, 1)]
    public double VectorPrefilterShare { get; set; } = 0.03;

    /// <summary>
    /// Posts held from which an HNSW graph (USearch, int8) is built beside the vector index in the background, and
    /// posts in a search's scope from which it finds the candidates instead of a scan (0: never). It costs about 0.8 KB
    /// a post and wins from a few hundred thousand posts: at 1M, vector p99 22 → 1.4 ms (`bench peers`, decision 0011).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int VectorGraphFromPosts { get; set; } = 200_000;

    /// <summary>An empty vector index with these search settings.</summary>
    public Vectors.Int8VectorIndex NewVectorIndex(int dims) => new(dims)
    {
        BinaryPrefilterRows = VectorPrefilterFromPosts, PrefilterFraction = VectorPrefilterShare, GraphFromRows = VectorGraphFromPosts,
    };

    public string DatabasePath => Path.Combine(DataPath, FileName);
}
