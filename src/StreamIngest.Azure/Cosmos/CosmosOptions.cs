namespace StreamIngest.Azure.Cosmos;

public sealed class CosmosOptions
{
    public const string Section = "Cosmos";

    /// <summary>Above this many vectors per search scope the vector index is diskANN (see <see cref="ResolveVectorIndexType"/>).</summary>
    public const long QuantizedFlatLimit = 50_000;

    /// <summary>Account endpoint (with <c>DefaultAzureCredential</c>); or use <see cref="ConnectionString"/>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Connection string (emulators, keys); secret, from configuration only.</summary>
    public string? ConnectionString { get; set; }

    public string Database { get; set; } = "streamingest";

    public string Container { get; set; } = "posts";

    /// <summary>
    /// The container for cursors, dead letters, watches, counts and keys (<see cref="CosmosStateContainer"/>): its own
    /// throughput and a narrow index, so side traffic neither pays for nor competes with the posts' index.
    /// </summary>
    public string StateContainer { get; set; } = "state";

    /// <summary>Autoscale ceiling (RU/s) when this service creates the state container (<see cref="CreateIfMissing"/>); 0 = the database's.</summary>
    public int StateThroughput { get; set; } = 1000;

    /// <summary>
    /// How often the process role writes its entity counts (one rollup document per touched 5-minute bucket); counts
    /// reach trends and the dashboard within this time.
    /// </summary>
    public int CountFlushSeconds { get; set; } = 30;

    /// <summary>How long the total post count (a cross-partition <c>COUNT</c>) is reused before it is asked again.</summary>
    public int CountCacheSeconds { get; set; } = 60;

    /// <summary>How long dead letters are kept in the state container.</summary>
    public int DeadLetterRetentionHours { get; set; } = 14 * 24;

    /// <summary>
    /// At start, how long to keep retrying when Cosmos DB refuses this identity (401/403): a role assignment made by
    /// the same deployment can take minutes to propagate. The role waits, logging, instead of crashing.
    /// </summary>
    public int AccessWaitSeconds { get; set; } = 300;

    /// <summary>
    /// <c>Direct</c> (the SDK default, TCP to the replicas; best latency in Azure) or <c>Gateway</c> (HTTPS through the
    /// gateway). The Linux (vNext) emulator serves the NoSQL API in Gateway mode only
    /// (https://learn.microsoft.com/azure/cosmos-db/emulator-linux).
    /// </summary>
    public string ConnectionMode { get; set; } = "Direct";

    /// <summary>
    /// Talk only to <see cref="Endpoint"/> and never to the regional endpoints the account advertises
    /// (<c>CosmosClientOptions.LimitToEndpoint</c>): needed for an emulator behind a mapped port or another
    /// container's host name, whose gateway advertises <c>localhost</c> unless <c>GATEWAY_PUBLIC_ENDPOINT</c> is set.
    /// </summary>
    public bool LimitToEndpoint { get; set; }

    /// <summary>
    /// Bulk mode for the process role's writes (a second client; point reads, cursors and queries use a client
    /// without bulk, whose batching delay would slow them). Emulators may not support it: turn it off there.
    /// </summary>
    public bool Bulk { get; set; } = true;

    /// <summary>
    /// Throttling (429) is retried in one place, the SDK, with these limits (its defaults: 9 attempts, 30 s);
    /// our own retries never handle 429. A write still throttled after them fails its batch, which the
    /// process stage retries and then dead-letters.
    /// </summary>
    public int MaxRetryAttemptsOnThrottle { get; set; } = 9;

    public int MaxRetryWaitOnThrottleSeconds { get; set; } = 30;

    /// <summary>Create the database and container (with the policies docs/distributed.md states) when missing.</summary>
    public bool CreateIfMissing { get; set; }

    /// <summary>Vector index type when the container is created: <c>auto</c> (by <see cref="ExpectedPostsPerSearch"/>), <c>quantizedFlat</c> or <c>diskANN</c>.</summary>
    public string VectorIndexType { get; set; } = "auto";

    /// <summary>How many posts one search scans at most (posts held within retention; a firehose holds millions).</summary>
    public long ExpectedPostsPerSearch { get; set; } = 1_000_000;

    /// <summary>
    /// Length of the stored vectors, for the container's vector policy and the start-up check against an existing one.
    /// The host sets it from the configured embedder; it is not a setting of its own.
    /// </summary>
    public int EmbeddingDimensions { get; set; } = CosmosPostStore.EmbeddingDimensions;

    /// <summary>Logical partitions per source that writes are spread over.</summary>
    public int PartitionBuckets { get; set; } = 32;

    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint) || !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>
    /// The vector index for the container. Azure Cosmos DB documents quantizedFlat for searches over up to about
    /// 50,000 vectors (per search scope) and diskANN beyond that
    /// (https://learn.microsoft.com/azure/cosmos-db/index-vector-data, "Vector indexing policies"); a firehose kept
    /// for 48 h holds far more, so <c>auto</c> picks diskANN unless the expected scope is small.
    /// A container's vector index type cannot be changed in place: a different choice needs a new container.
    /// </summary>
    public string ResolveVectorIndexType() => VectorIndexType.ToLowerInvariant() switch
    {
        "diskann" => "diskANN",
        "quantizedflat" => "quantizedFlat",
        "flat" => "flat",
        _ => ExpectedPostsPerSearch > QuantizedFlatLimit ? "diskANN" : "quantizedFlat",
    };

    public IEnumerable<string> Validate()
    {
        if (!Enabled)
        {
            yield return $"{Section}:Endpoint or {Section}:ConnectionString must be set when StoreKind is 'Cosmos'.";
        }

        if (!string.Equals(ConnectionMode, "Direct", StringComparison.OrdinalIgnoreCase) && !string.Equals(ConnectionMode, "Gateway", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"{Section}:ConnectionMode must be 'Direct' or 'Gateway' (got '{ConnectionMode}').";
        }

        if (VectorIndexType.ToLowerInvariant() is not ("auto" or "diskann" or "quantizedflat" or "flat"))
        {
            yield return $"{Section}:VectorIndexType must be 'auto', 'diskANN', 'quantizedFlat' or 'flat' (got '{VectorIndexType}').";
        }

        if (MaxRetryAttemptsOnThrottle is < 0 or > 100)
        {
            yield return $"{Section}:MaxRetryAttemptsOnThrottle must be from 0 to 100 (got {MaxRetryAttemptsOnThrottle}).";
        }

        if (MaxRetryWaitOnThrottleSeconds is < 1 or > 600)
        {
            yield return $"{Section}:MaxRetryWaitOnThrottleSeconds must be from 1 to 600 (got {MaxRetryWaitOnThrottleSeconds}).";
        }

        if (string.IsNullOrWhiteSpace(StateContainer) || string.Equals(StateContainer, Container, StringComparison.Ordinal))
        {
            yield return $"{Section}:StateContainer must be set and differ from {Section}:Container (got '{StateContainer}').";
        }

        if (StateThroughput != 0 && StateThroughput is < 1000 or > 1_000_000)
        {
            yield return $"{Section}:StateThroughput must be 0 (the database's) or an autoscale maximum from 1000 to 1000000 RU/s (got {StateThroughput}).";
        }

        if (DeadLetterRetentionHours is < 1 or > 24 * 365)
        {
            yield return $"{Section}:DeadLetterRetentionHours must be from 1 to 8760 (got {DeadLetterRetentionHours}).";
        }

        if (CountFlushSeconds is < 1 or > 300)
        {
            yield return $"{Section}:CountFlushSeconds must be from 1 to 300 (got {CountFlushSeconds}).";
        }

        if (CountCacheSeconds is < 0 or > 3600)
        {
            yield return $"{Section}:CountCacheSeconds must be from 0 to 3600 (got {CountCacheSeconds}).";
        }

        if (AccessWaitSeconds is < 0 or > 3600)
        {
            yield return $"{Section}:AccessWaitSeconds must be from 0 to 3600 (got {AccessWaitSeconds}).";
        }

        if (PartitionBuckets is < 1 or > 1000)
        {
            yield return $"{Section}:PartitionBuckets must be from 1 to 1000 (got {PartitionBuckets}).";
        }
    }
}
