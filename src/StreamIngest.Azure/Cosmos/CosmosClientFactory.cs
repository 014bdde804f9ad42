using Azure.Core;
using Microsoft.Azure.Cosmos;
using StreamIngest.Model;

namespace StreamIngest.Azure.Cosmos;

/// <summary>Builds the Cosmos DB clients from <see cref="CosmosOptions"/>: one for reads, queries and small writes, one with bulk for the process role's writes.</summary>
public static class CosmosClientFactory
{
    public static CosmosClientOptions CreateClientOptions(CosmosOptions options, bool bulk) => new()
    {
        UseSystemTextJsonSerializerWithOptions = PostJson.Options,
        AllowBulkExecution = bulk,
        ConnectionMode = string.Equals(options.ConnectionMode, "Gateway", StringComparison.OrdinalIgnoreCase) ? ConnectionMode.Gateway : ConnectionMode.Direct,
        LimitToEndpoint = options.LimitToEndpoint,

        // Throttling is retried here and nowhere else (https://learn.microsoft.com/azure/cosmos-db/nosql/conceptual-resilient-sdk-applications).
        MaxRetryAttemptsOnRateLimitedRequests = options.MaxRetryAttemptsOnThrottle,
        MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(options.MaxRetryWaitOnThrottleSeconds),
    };

    public static CosmosClient Create(CosmosOptions options, TokenCredential credential, bool bulk) =>
        options.ConnectionString is { Length: > 0 }
            ? new CosmosClient(options.ConnectionString, CreateClientOptions(options, bulk))
            : new CosmosClient(options.Endpoint, credential, CreateClientOptions(options, bulk));
}
