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
        // An emulator without custom indexing policies or autoscale gets the default policy and the database's
        // throughput: the same documents and queries work; writes cost more RU (an emulator charges none).
        var response = await CreateIfMissingAsync(
            client, options, PropertiesFor(options), options.StateThroughput is > 0 and var ru ? ThroughputProperties.CreateAutoscaleThroughput(ru) : null,
            () => new ContainerProperties(options.StateContainer, "/pk") { DefaultTimeToLive = -1 }, onFallback: null, ct).ConfigureAwait(false);
        return response.Container;
    }

    /// <summary>
    /// The database and container, created when missing with <paramref name="wanted"/>; when the account refuses that
    /// definition (400, an emulator lacking a policy), with <paramref name="fallback"/> instead, after telling
    /// <paramref name="onFallback"/> why.
    /// </summary>
    internal static async Task<ContainerResponse> CreateIfMissingAsync(
        CosmosClient client, CosmosOptions options, ContainerProperties wanted, ThroughputProperties? throughput, Func<ContainerProperties> fallback,
        Action<CosmosException>? onFallback, CancellationToken ct)
    {
        var database = (await client.CreateDatabaseIfNotExistsAsync(options.Database, cancellationToken: ct).ConfigureAwait(false)).Database;
        try
        {
            return await database.CreateContainerIfNotExistsAsync(wanted, throughput, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.BadRequest)
        {
            onFallback?.Invoke(e);
            return await database.CreateContainerIfNotExistsAsync(fallback(), cancellationToken: ct).ConfigureAwait(false);
        }
    }
}
