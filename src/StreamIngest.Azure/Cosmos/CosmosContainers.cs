using Microsoft.Azure.Cosmos;

namespace StreamIngest.Azure.Cosmos;

/// <summary>The two containers: posts (vector and full-text indexed, TTL = retention) and state (<see cref="CosmosStateContainer"/>).</summary>
public sealed record CosmosContainers(Container Posts, Container State);
