namespace StreamIngest.Azure;

public sealed class EventHubsOptions
{
    public const string Section = "EventHubs";

    /// <summary>Connection string (emulator, SAS); or use <see cref="FullyQualifiedNamespace"/> with DefaultAzureCredential.</summary>
    public string? ConnectionString { get; set; }

    public string? FullyQualifiedNamespace { get; set; }

    public string HubName { get; set; } = "posts";

    public string ConsumerGroup { get; set; } = "$Default";

    /// <summary>Blob Storage for checkpoints: a connection string (Azurite), or a container URI with DefaultAzureCredential.</summary>
    public string? CheckpointConnectionString { get; set; }

    public string? CheckpointContainerUri { get; set; }

    public string CheckpointContainer { get; set; } = "checkpoints";

    /// <summary>A stable name for this processor instance (shows as the owner of its partitions); default <see cref="DefaultProcessorIdentifier"/>.</summary>
    public string? ProcessorIdentifier { get; set; }

    /// <summary>
    /// The processor's identifier when none is configured: host name and role, stable across restarts of the same
    /// instance (unlike machine-pid), so a restarted processor finds its own ownership records and takes its
    /// partitions back at once instead of waiting for them to expire. Two processors on one host need distinct
    /// <c>EventHubs:ProcessorIdentifier</c>s.
    /// </summary>
    public static string DefaultProcessorIdentifier(string machineName, string role) => $"{machineName}-{role}".ToLowerInvariant();

    /// <summary>Idempotent publishing (needs a tier that supports it).</summary>
    public bool EnableIdempotentRetries { get; set; }

    public int MaxBatch { get; set; } = 64;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && string.IsNullOrWhiteSpace(FullyQualifiedNamespace))
        {
            yield return $"{Section}:ConnectionString or {Section}:FullyQualifiedNamespace must be set when Transport is 'EventHubs'.";
        }

        if (string.IsNullOrWhiteSpace(CheckpointConnectionString) && string.IsNullOrWhiteSpace(CheckpointContainerUri))
        {
            yield return $"{Section}:CheckpointConnectionString or {Section}:CheckpointContainerUri must be set when Transport is 'EventHubs'.";
        }

        if (MaxBatch is < 1 or > 1000)
        {
            yield return $"{Section}:MaxBatch must be from 1 to 1000 (got {MaxBatch}).";
        }
    }
}
