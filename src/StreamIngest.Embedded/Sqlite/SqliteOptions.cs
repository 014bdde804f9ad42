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

    public string DatabasePath => Path.Combine(DataPath, FileName);
}
