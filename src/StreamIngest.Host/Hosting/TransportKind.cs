namespace StreamIngest.Host.Hosting;

public enum TransportKind
{
    /// <summary>In-process bounded channel; only meaningful when one process runs every role.</summary>
    Channel,

    /// <summary>Azure Event Hubs between the ingest and process roles (checkpoints in Blob Storage).</summary>
    EventHubs,
}
