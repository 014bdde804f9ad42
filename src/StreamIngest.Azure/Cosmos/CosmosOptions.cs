namespace StreamIngest.Azure.Cosmos;

public sealed class CosmosOptions
{
    public const string Section = "Cosmos";

    /// <summary>Account endpoint (with <c>DefaultAzureCredential</c>); or use <see cref="ConnectionString"/>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Connection string (emulators, keys); secret, from configuration only.</summary>
    public string? ConnectionString { get; set; }

    public string Database { get; set; } = "streamingest";

    public string Container { get; set; } = "posts";

    /// <summary>Bulk mode for writes (the emulators do not support it: turn it off there).</summary>
    public bool Bulk { get; set; } = true;

    /// <summary>Create the database and container (with the README's policies) when missing.</summary>
    public bool CreateIfMissing { get; set; }

    /// <summary>Vector index type when the container is created: quantizedFlat or diskANN.</summary>
    public string VectorIndexType { get; set; } = "quantizedFlat";

    /// <summary>Logical partitions per source that writes are spread over.</summary>
    public int PartitionBuckets { get; set; } = 32;

    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint) || !string.IsNullOrWhiteSpace(ConnectionString);
}
