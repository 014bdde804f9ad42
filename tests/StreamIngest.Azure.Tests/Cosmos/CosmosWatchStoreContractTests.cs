using StreamIngest.Azure.Cosmos;
using StreamIngest.Tests.Contracts;
using StreamIngest.Watches;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>The same watch store contract as SQLite, against a Cosmos DB emulator or account when one is configured.</summary>
public sealed class CosmosWatchStoreContractTests : WatchStoreContract
{
    protected override async Task<IWatchStore> NewStoreAsync()
    {
        Skip.If(CosmosTestSupport.ConnectionString is null, CosmosTestSupport.NotConfigured);
        var (_, container) = await CosmosTestSupport.NewStoreAsync(CosmosTestSupport.NewOptions(CosmosTestSupport.ConnectionString!, CosmosTestSupport.IsEmulator), TimeSpan.FromHours(48));
        return new CosmosWatchStore(container);
    }
}
