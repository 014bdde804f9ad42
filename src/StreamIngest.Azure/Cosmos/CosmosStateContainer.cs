using System.Net;
using Microsoft.Azure.Cosmos;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// The container for everything that is not a post: cursors, dead letters, watches with their events and delivery
/// state, entity-count rollups and API keys. Kept apart from the posts so it has its own throughput and a narrow
/// index: only the paths its queries filter or sort on are indexed (a write's RU charge grows with the indexed
/// paths: https://learn.microsoft.com/azure/cosmos-db/index-policy#including-and-excluding-property-paths), and
/// every read that can be a point read is one. TTL is on with no default: each document carries its own
/// (-1 never expires), so keys and cursors stay while events, dead letters and counts expire.
/// </summary>
public static class CosmosStateContainer
{
    /// <summary>
    /// Paths the state queries use: <c>type</c> (watch list, events, deliveries, counts), <c>seq</c> (events in
    /// order), <c>atMs</c> (dead letters and deliveries newest first), <c>bucketMs</c> (counts since a time) and
    /// <c>pk</c>. Everything else is excluded with <c>/*</c>.
    /// </summary>
    public static readonly IReadOnlyList<string> IndexedPaths = ["/pk/?", "/type/?", "/seq/?", "/atMs/?", "/bucketMs/?"];

    public static ContainerProperties PropertiesFor(CosmosOptions options)
    {
        var properties = new ContainerProperties(options.StateContainer, "/pk") { DefaultTimeToLive = -1 };
        properties.IndexingPolicy.IndexingMode = IndexingMode.Consistent;
        properties.IndexingPolicy.Automatic = true;
        foreach (var path in IndexedPaths)
        {
            properties.IndexingPolicy.IncludedPaths.Add(new IncludedPath { Path = path });
        }

        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/*" });
        return properties;
    }

    /// <summary>Creates the state container when missing (emulators and first runs; in Azure, infra/main.bicep creates it).</summary>
    public static async Task<Container> EnsureAsync(CosmosClient client, CosmosOptions options, CancellationToken ct)
    {
        var database = (await client.CreateDatabaseIfNotExistsAsync(options.Database, cancellationToken: ct).ConfigureAwait(false)).Database;
        try
        {
            return (await database.CreateContainerIfNotExistsAsync(PropertiesFor(options), options.StateThroughput is > 0 and var ru ? ThroughputProperties.CreateAutoscaleThroughput(ru) : null, cancellationToken: ct).ConfigureAwait(false)).Container;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.BadRequest)
        {
            // An emulator without custom indexing policies or autoscale: the default policy, the database's
            // throughput. The same documents and queries work; writes cost more RU (an emulator charges none).
            return (await database.CreateContainerIfNotExistsAsync(new ContainerProperties(options.StateContainer, "/pk") { DefaultTimeToLive = -1 }, cancellationToken: ct).ConfigureAwait(false)).Container;
        }
    }
}
