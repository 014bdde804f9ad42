using System.Net;
using Microsoft.Azure.Cosmos;

namespace StreamIngest.Azure.Cosmos;

/// <summary>The point read every Cosmos DB store here makes: the item's response, or null when it does not exist (404).</summary>
internal static class CosmosPointReads
{
    public static async Task<ItemResponse<T>?> ReadOrNullAsync<T>(this Container container, string id, PartitionKey partitionKey, CancellationToken cancellationToken)
    {
        try
        {
            return await container.ReadItemAsync<T>(id, partitionKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
