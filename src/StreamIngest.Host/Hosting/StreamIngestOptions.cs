using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StreamIngest.Retrieve;

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

    /// <summary>Share of the score that recency can take away from an old post (see <see cref="RankingOptions.RecencyWeight"/>).</summary>
    [Range(0.0, 1.0)]
    public double RecencyWeight { get; set; } = new RankingOptions().RecencyWeight;

    [Range(0.0, 1.0)]
    public double EngagementWeight { get; set; } = 0.1;

    [Range(1, 10_000)]
    public int RrfK { get; set; } = 60;

    /// <summary><c>Scores</c> (exact cosine plus a keyword bonus) or <c>Rrf</c> (reciprocal rank fusion); see <see cref="FusionMethod"/>.</summary>
    public FusionMethod Fusion { get; set; } = FusionMethod.Scores;

    /// <summary>
    /// The relevance floor for <c>/v1/search</c> and the MCP search tool: a hybrid or vector result whose cosine
    /// similarity to the query is below it (half of it for a result containing the query's words) is dropped, and a
    /// search left with none abstains (<see cref="RelevanceFloor"/>). Off (0) by default: single-word searches score
    /// low cosines even on their own topic ("inundation" against flood posts is below 0.15 with MiniLM).
    /// </summary>
    [Range(0.0, 1.0)]
    public double MinRelevance { get; set; }

    /// <summary>
    /// The relevance floor for grounding (<c>/v1/ground</c>, chat, the MCP ground tool and prompt), where the input is a
    /// question: unset, the value fitted for the embedding model (<see cref="RelevanceFloor.DefaultFor"/>: 0.2 for
    /// MiniLM; none for a model not fitted here); 0 turns it off. A question nothing clears is answered "no posts".
    /// </summary>
    [Range(0.0, 1.0)]
    public double? GroundMinRelevance { get; set; }

    /// <summary>
    /// Grounding also needs this estimated relevance (a result's <c>score.relevance</c>, calibrated per model) where the
    /// model has an estimate: a post that shares a word with the question but is not about it ("Follow Train" for a
    /// train derailment, 0.0127) clears a cosine floor, not this one. Default 0.02 (low: vague questions score posts
    /// about them low too); not applied to questions over 400 characters; 0 turns it off (docs/decisions/0009).
    /// </summary>
    [Range(0.0, 1.0)]
    public double GroundMinScore { get; set; } = RelevanceFloor.DefaultMinEstimate;

    /// <summary>
    /// What the best keyword match adds to a cosine similarity under <see cref="FusionMethod.Scores"/>. Unset: the weight
    /// fitted for the embedding model (<see cref="RelevanceCalibration.For"/>), else 0.1.
    /// </summary>
    [Range(0.0, 1.0)]
    public double? KeywordWeight { get; set; }

    /// <summary>
    /// Embedded store: stories beyond k a search reads after ranking its candidates by the vector index's own figures
    /// (see <see cref="Embedded.Sqlite.SqliteRetriever.ShortlistStories"/>); 0 reads every candidate.
    /// </summary>
    [Range(0, 1000)]
    public int ShortlistStories { get; set; } = Embedded.Sqlite.SqliteRetriever.DefaultShortlistStories;

    public IEnumerable<string> Validate()
    {
        if (HalfLife <= TimeSpan.Zero)
        {
            yield return $"{Section}:HalfLife must be positive (got {HalfLife}).";
        }
    }
}
