using System.ComponentModel.DataAnnotations;

namespace StreamIngest.Host.Hosting;

public sealed class StreamIngestOptions
{
    /// <summary>Which roles this process runs (<c>--role all|ingest|process|api</c>).</summary>
    public Role Role { get; set; } = Role.All;

    public TransportKind Transport { get; set; } = TransportKind.Channel;

    public StoreKind StoreKind { get; set; } = StoreKind.Sqlite;

    /// <summary>Capacity of the in-process channel; feeds wait when it is full.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Most events handed to the processor at once.</summary>
    [Range(1, 4096)]
    public int MaxBatch { get; set; } = 64;

    /// <summary>Seconds between status log lines (0 = off).</summary>
    [Range(0, 3600)]
    public int StatusIntervalSeconds { get; set; } = 5;

    public bool RunsIngest => Role is Role.All or Role.Ingest;

    public bool RunsProcess => Role is Role.All or Role.Process;

    public bool RunsApi => Role is Role.All or Role.Api;

    /// <summary>Rules across fields, each error naming the configuration key at fault.</summary>
    public IEnumerable<string> Validate()
    {
        if (Transport == TransportKind.Channel && Role != Role.All)
        {
            yield return $"Role must be 'all' when Transport is 'channel' (got '{Role}'): the in-process channel cannot connect separate processes; set Transport to 'EventHubs' to split roles.";
        }

        if (Role is Role.Process or Role.Api && StoreKind == StoreKind.Sqlite)
        {
            yield return $"StoreKind must be 'Cosmos' when Role is '{Role}': a SQLite file is local to one process, so the api and process roles could not share it.";
        }
    }
}
