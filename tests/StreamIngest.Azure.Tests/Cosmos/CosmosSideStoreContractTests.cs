using StreamIngest.Azure.Cosmos;
using StreamIngest.Store;
using StreamIngest.Tests.Contracts;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>The side-store contract against the real Cosmos DB SDK and cosmosdb-server (a state container per test).</summary>
public sealed class CosmosSideStoreContractTests : SideStoreContract, IDisposable
{
    private readonly Microsoft.Azure.Cosmos.CosmosClient? _client = CosmosDbServer.Endpoint is null ? null : CosmosDbServer.Client();

    protected override async Task<(ICursorStore Cursors, IDeadLetterStore DeadLetters, IEntityCountStore Counts)> NewStoresAsync()
    {
        Skip.If(_client is null, CosmosDbServer.Skipped);
        var container = await CosmosDbServer.NewContainerAsync(_client!);
        return (new CosmosCursorStore(container, TimeProvider.System), new CosmosDeadLetterStore(container, TimeSpan.FromDays(14)),
            new CosmosEntityCountStore(container, TimeProvider.System, TimeSpan.FromSeconds(30)));
    }

    /// <summary>cosmosdb-server answers the SDK's query plan for ORDER BY with TOP in a form the SDK 3.64 fails on (a NullReferenceException in the query pipeline); a real account runs it.</summary>
    protected override string? DeadLetterListingUnsupported =>
        "cosmosdb-server cannot serve the listing's ORDER BY with TOP to the SDK (its query plan fails in the SDK's pipeline); it runs against an account";

    protected override Task FlushAsync(IEntityCountStore counts) => ((CosmosEntityCountStore)counts).FlushAsync(CancellationToken.None);

    public void Dispose() => _client?.Dispose();
}
