using StreamIngest.Azure.Cosmos;

namespace StreamIngest.Host.Hosting;

/// <summary>The distributed mode's adapters as this host composes them: each registers itself in StreamIngest.Azure.</summary>
public static class AzureHostingExtensions
{
    /// <summary>Event Hubs between the roles (<see cref="Azure.EventHubs.EventHubsRegistration.AddEventHubsTransport"/>).</summary>
    public static void AddEventHubsTransport(this IHostApplicationBuilder builder, StreamIngestOptions options) =>
        Azure.EventHubs.EventHubsRegistration.AddEventHubsTransport(builder, options.Role.ToString(), options.RunsIngest, options.RunsProcess);

    /// <summary>The Cosmos DB store (<see cref="CosmosStoreRegistration.AddCosmosStore"/>), its searches behind the relevance floor.</summary>
    public static void AddCosmosStore(this IHostApplicationBuilder builder, StreamIngestOptions options) =>
        builder.AddCosmosStore(options.RunsProcess, HostingExtensions.WithRelevanceFloor);
}
