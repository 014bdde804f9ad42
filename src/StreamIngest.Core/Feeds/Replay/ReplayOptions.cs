using System.ComponentModel.DataAnnotations;
using StreamIngest.Feeds.Parsing;

namespace StreamIngest.Feeds.Replay;

public sealed class ReplayOptions
{
    public const string Section = "Feeds:Replay";

    /// <summary>The switch every feed has (default on): the feed runs when it is on and configured (<see cref="Runs"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>On, with a file to replay.</summary>
    public bool Runs => Enabled && !string.IsNullOrWhiteSpace(Path);

    /// <summary>Wire file to replay (normalised post JSONL, X API v2 pages/stream messages, or Jetstream JSONL).</summary>
    [Required]
    public string Path { get; set; } = "samples/demo.jsonl";

    public WireFormat Format { get; set; } = WireFormat.Auto;

    public ReplayTimestamps Timestamps { get; set; } = ReplayTimestamps.ShiftToNow;

    /// <summary>Pacing: 1 = real time, 10 = ten times faster, 0 = as fast as possible.</summary>
    [Range(0, 1_000_000)]
    public double Speed { get; set; }

    /// <summary>Lines longer than this are dead-lettered unread.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxLineBytes { get; set; } = 1024 * 1024;
}
