namespace StreamIngest.Azure.Cosmos;

/// <summary>A load to budget for: the stream, its readers and the replicas serving them.</summary>
public sealed record RuLoad(
    double PostsPerSecond,
    double EngagementPerSecond,
    double QueriesPerSecond,
    int Watches,
    int WebhookWatches,
    int DashboardsOpen,
    int ApiReplicas,
    int ProcessReplicas,
    int ApiKeys);

/// <summary>
/// Charges per operation in RU. A point read of a 1 KB item is 1 RU and grows with size (100 KB: 10 RU)
/// (https://learn.microsoft.com/azure/cosmos-db/optimize-cost-reads-writes#point-reads); writes and queries vary with
/// size and indexed paths (https://learn.microsoft.com/azure/cosmos-db/request-units), so their defaults here are
/// assumptions to replace with what an account reports (<c>cosmos_ru_per_post</c>, <c>cosmos_ru_per_query</c> in
/// /v1/stats, <c>streamingest_cosmos_request_charge</c> in /metrics).
/// </summary>
public sealed record RuCharges
{
    /// <summary>Upsert of one post document (about 3 KB with its vector; range, vector and full-text indexed).</summary>
    public double PostWrite { get; init; } = 15;

    /// <summary>Engagement: the post's point read (3 KB) and its patch under ETag.</summary>
    public double EngagementUpdate { get; init; } = 3 + 10;

    /// <summary>One hybrid search (vector + full-text, windowed).</summary>
    public double Query { get; init; } = 30;

    /// <summary>The cross-partition post <c>COUNT</c>, per physical partition.</summary>
    public double CountQuery { get; init; } = 10;

    public int PhysicalPartitions { get; init; } = 4;

    /// <summary>A point read of a small state document (counter, delivery state, probe): 1 KB or less.</summary>
    public double SmallPointRead { get; init; } = 1;

    /// <summary>Size of one 5-minute rollup document, KB (a few thousand entities at about 40 bytes).</summary>
    public double RollupKb { get; init; } = 100;

    /// <summary>Write of 1 KB into the state container (its index is five paths, so writes cost little more than their size).</summary>
    public double StateWritePerKb { get; init; } = 1;

    /// <summary>A single-partition query of small documents (the watch list, the key list).</summary>
    public double SmallQuery { get; init; } = 3;
}

/// <summary>One line of the budget: what, how often per minute, RU each, RU per minute.</summary>
public sealed record RuLine(string Operation, string Container, double PerMinute, double RuEach)
{
    public double RuPerMinute => PerMinute * RuEach;
}

/// <summary>
/// The Cosmos DB request-unit budget per operation and per minute at a stated load, from the cadences the code runs
/// at (count flushes, caches, polls), so the budget in docs/distributed.md is computed, not written by hand, and a
/// test keeps the two equal.
/// </summary>
public static class CosmosRuBudget
{
    /// <summary>Dashboard poll interval (the page polls /v1/dashboard every 2 s).</summary>
    public const double DashboardPollSeconds = 2;

    /// <summary>How often each replica re-reads the watch list (<c>WatchMatcher.RefreshInterval</c>).</summary>
    public const double WatchListRefreshSeconds = 10;

    /// <summary>How often each api replica re-reads the API keys (<c>ApiKeyMiddleware</c>).</summary>
    public const double KeyRefreshSeconds = 5;

    /// <summary>Health probes per replica per minute (readiness every 10 s).</summary>
    public const double HealthProbesPerMinute = 6;

    /// <summary>Buckets a dashboard poll reads again: the open one and, just after a boundary, the one before it.</summary>
    public const double OpenBucketsPerPoll = 2;

    public static IReadOnlyList<RuLine> PerMinute(RuLoad load, CosmosOptions options, double webhookPollSeconds, RuCharges? charges = null)
    {
        var c = charges ?? new RuCharges();
        var rollupRead = Math.Max(1, c.RollupKb / 10); // 1 RU per KB up to 1 KB, 10 RU at 100 KB: linear in between
        var replicas = load.ApiReplicas + load.ProcessReplicas;
        return
        [
            new("post upsert", "posts", load.PostsPerSecond * 60, c.PostWrite),
            new("engagement read + patch", "posts", load.EngagementPerSecond * 60, c.EngagementUpdate),
            new("search", "posts", load.QueriesPerSecond * 60, c.Query),
            new("post count (cached per api replica)", "posts", load.ApiReplicas * 60 / Math.Max(1, options.CountCacheSeconds), c.CountQuery * c.PhysicalPartitions),
            new("health probe", "posts + state", replicas * HealthProbesPerMinute * 2, c.SmallPointRead),
            new("count rollup read + replace", "state", load.ProcessReplicas * 60 / options.CountFlushSeconds * OpenBucketsPerPoll, rollupRead + (2 * c.RollupKb * c.StateWritePerKb)),
            new("dashboard poll: open rollups", "state", load.DashboardsOpen * 60 / DashboardPollSeconds * OpenBucketsPerPoll, rollupRead),
            new("watch list (per replica)", "state", replicas * 60 / WatchListRefreshSeconds, c.SmallQuery + (load.Watches * 0.1)),
            new("webhook gate: position + counter", "state", replicas * 60 / webhookPollSeconds * load.WebhookWatches * 2, c.SmallPointRead),
            new("key list (per api replica)", "state", load.ApiReplicas * 60 / KeyRefreshSeconds, c.SmallQuery + (load.ApiKeys * 0.1)),
        ];
    }

    /// <summary>RU per second the lines need on average.</summary>
    public static double RuPerSecond(IEnumerable<RuLine> lines) => lines.Sum(l => l.RuPerMinute) / 60;

    /// <summary>The budget as the Markdown table docs/distributed.md carries.</summary>
    public static string ToMarkdown(IReadOnlyList<RuLine> lines)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.Append("| operation | container | per minute | RU each | RU per minute |\n|---|---|---:|---:|---:|\n");
        foreach (var l in lines)
        {
            sb.Append(inv, $"| {l.Operation} | {l.Container} | {l.PerMinute:0.#} | {l.RuEach:0.#} | {l.RuPerMinute:0} |\n");
        }

        sb.Append(inv, $"| **total** | | | | **{lines.Sum(l => l.RuPerMinute):0}** ({RuPerSecond(lines):0} RU/s) |\n");
        return sb.ToString();
    }
}
