using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Cosmos DB reachable: a point read of an item that need not exist (404 is healthy), a data-plane operation of
/// about 1 RU. Reading container metadata on every probe would spend the account's reserved metadata RU
/// (https://learn.microsoft.com/azure/cosmos-db/nosql/troubleshoot-request-rate-too-large#rate-limiting-on-metadata-requests).
/// </summary>
public sealed class CosmosHealthCheck(Container container) : IHealthCheck
{
    public const string ProbeId = CosmosHealthProbe.Id;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await container.ReadItemStreamAsync(ProbeId, new PartitionKey(ProbeId), cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.NotFound
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Cosmos DB answered {(int)response.StatusCode} {response.ErrorMessage}");
        }
        catch (Exception ex) when (ex is CosmosException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy("Cosmos DB container is not reachable", ex);
        }
    }
}
