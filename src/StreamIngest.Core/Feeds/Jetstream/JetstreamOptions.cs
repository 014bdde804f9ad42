using System.ComponentModel.DataAnnotations;

namespace StreamIngest.Feeds.Jetstream;

public sealed class JetstreamOptions
{
    public const string Section = "Feeds:Jetstream";

    /// <summary>The public hosts, tried in order with failover; used when <see cref="Endpoints"/> is empty.</summary>
    public static readonly IReadOnlyList<string> PublicEndpoints =
    [
        "wss://jetstream1.us-east.bsky.network/subscribe",
        "wss://jetstream2.us-east.bsky.network/subscribe",
        "wss://jetstream1.us-west.bsky.network/subscribe",
        "wss://jetstream2.us-west.bsky.network/subscribe",
    ];

    /// <summary>The switch every feed has (default on): the feed runs when it is on and configured (<see cref="Runs"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>On (the public endpoints serve when none are configured).</summary>
    public bool Runs => Enabled;

    /// <summary>WebSocket endpoints (ws:// or wss://, path /subscribe); empty = the public hosts.</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>Also receive likes and reposts, to keep engagement counts of stored posts current.</summary>
    public bool IncludeEngagement { get; set; }

    /// <summary>Only these repositories (DIDs); empty = everyone.</summary>
    public List<string> WantedDids { get; set; } = [];

    /// <summary>On reconnect, resume this far before the last stored event (reprocessing is idempotent).</summary>
    [Range(0, 3600)]
    public int RewindSeconds { get; set; } = 5;

    /// <summary>No frame for this long means the connection is dead: reconnect.</summary>
    [Range(1, 3600)]
    public int IdleTimeoutSeconds { get; set; } = 30;

    [Range(1, 300)]
    public int ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Frames larger than this are dead-lettered (Jetstream frames are a few KB).</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 1 << 20;

    /// <summary>Frames read ahead of the pipeline, so the socket is never blocked by a slow consumer.</summary>
    [Range(16, 1_000_000)]
    public int ReadAheadFrames { get; set; } = 20_000;

    public IReadOnlyList<string> EffectiveEndpoints => Endpoints.Count > 0 ? Endpoints : PublicEndpoints;

    public IEnumerable<string> Validate()
    {
        foreach (var e in EffectiveEndpoints)
        {
            if (!Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
            {
                yield return $"{Section}:Endpoints: '{e}' must be a ws:// or wss:// URI.";
            }
        }
    }
}
