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
