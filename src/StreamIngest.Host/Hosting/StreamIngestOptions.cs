using Microsoft.Extensions.Options;

namespace StreamIngest.Host.Hosting;

public enum Role
{
    /// <summary>Everything in one process (the embedded default).</summary>
    All,

    /// <summary>Feeds only: publish to the transport.</summary>
    Ingest,

    /// <summary>Workers only: consume from the transport, enrich, embed, store.</summary>
    Process,

    /// <summary>The HTTP API only, reading the store.</summary>
    Api,
}

public enum TransportKind
{
    /// <summary>In-process bounded channel; only meaningful when one process runs every role.</summary>
    Channel,

    /// <summary>Azure Event Hubs between the ingest and process roles (checkpoints in Blob Storage).</summary>
    EventHubs,
}

public enum StoreKind
{
    /// <summary>SQLite file under Store:DataPath (embedded default).</summary>
    Sqlite,

    /// <summary>Azure Cosmos DB for NoSQL (Cosmos:* settings).</summary>
    Cosmos,
}

public sealed class StreamIngestOptions
{
    /// <summary>Which roles this process runs (<c>--role all|ingest|process|api</c>).</summary>
    public Role Role { get; set; } = Role.All;

    public TransportKind Transport { get; set; } = TransportKind.Channel;

    public StoreKind StoreKind { get; set; } = StoreKind.Sqlite;

    /// <summary>Capacity of the in-process channel; feeds wait when it is full.</summary>
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Most events handed to the processor at once.</summary>
    public int MaxBatch { get; set; } = 64;

    /// <summary>Seconds between status log lines (0 = off).</summary>
    public int StatusIntervalSeconds { get; set; } = 5;

    public bool RunsIngest => Role is Role.All or Role.Ingest;

    public bool RunsProcess => Role is Role.All or Role.Process;

    public bool RunsApi => Role is Role.All or Role.Api;
}

/// <summary>Cross-field rules, each error naming the configuration key at fault.</summary>
public sealed class StreamIngestOptionsValidator : IValidateOptions<StreamIngestOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamIngestOptions options)
    {
        var errors = new List<string>();
        if (options.Transport == TransportKind.Channel && options.Role != Role.All)
        {
            errors.Add($"Role must be 'all' when Transport is 'channel' (got '{options.Role}'): the in-process channel cannot connect separate processes; set Transport to 'EventHubs' to split roles.");
        }

        if (options.Role is Role.Process or Role.Api && options.StoreKind == StoreKind.Sqlite)
        {
            errors.Add($"StoreKind must be 'Cosmos' when Role is '{options.Role}': a SQLite file is local to one process, so the api and process roles could not share it.");
        }

        if (options.QueueCapacity is < 1 or > 1_000_000)
        {
            errors.Add($"QueueCapacity must be between 1 and 1000000 (got {options.QueueCapacity}).");
        }

        if (options.MaxBatch is < 1 or > 4096)
        {
            errors.Add($"MaxBatch must be between 1 and 4096 (got {options.MaxBatch}).");
        }

        if (options.StatusIntervalSeconds is < 0 or > 3600)
        {
            errors.Add($"StatusIntervalSeconds must be between 0 and 3600 (got {options.StatusIntervalSeconds}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class SearchOptions
{
    public const string Section = "Search";

    /// <summary>ISO-8601 or .NET time span: age at which recency has halved.</summary>
    public TimeSpan HalfLife { get; set; } = TimeSpan.FromHours(6);

    public double RecencyWeight { get; set; } = 0.5;

    public double EngagementWeight { get; set; } = 0.1;

    public int RrfK { get; set; } = 60;
}

public sealed class SearchOptionsValidator : IValidateOptions<SearchOptions>
{
    public ValidateOptionsResult Validate(string? name, SearchOptions options)
    {
        var errors = new List<string>();
        if (options.HalfLife <= TimeSpan.Zero)
        {
            errors.Add($"Search:HalfLife must be positive (got {options.HalfLife}).");
        }

        if (options.RecencyWeight is < 0 or > 1)
        {
            errors.Add($"Search:RecencyWeight must be between 0 and 1 (got {options.RecencyWeight}).");
        }

        if (options.EngagementWeight is < 0 or > 1)
        {
            errors.Add($"Search:EngagementWeight must be between 0 and 1 (got {options.EngagementWeight}).");
        }

        if (options.RrfK < 1)
        {
            errors.Add($"Search:RrfK must be at least 1 (got {options.RrfK}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class EmbeddingOptionsValidator : IValidateOptions<Embedded.Onnx.MiniLmOptions>
{
    public ValidateOptionsResult Validate(string? name, Embedded.Onnx.MiniLmOptions options)
    {
        var errors = new List<string>();
        if (options.Threads is < 0 or > 256)
        {
            errors.Add($"Embedding:Threads must be between 0 (one per core) and 256 (got {options.Threads}).");
        }

        if (options.IntraOpThreads is < 1 or > 256)
        {
            errors.Add($"Embedding:IntraOpThreads must be between 1 and 256 (got {options.IntraOpThreads}).");
        }

        if (options.MaxBatch is < 1 or > 1024)
        {
            errors.Add($"Embedding:MaxBatch must be between 1 and 1024 (got {options.MaxBatch}).");
        }

        if (options.MaxTokens is < 8 or > 256)
        {
            errors.Add($"Embedding:MaxTokens must be between 8 and 256 (got {options.MaxTokens}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
