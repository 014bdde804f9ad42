using StreamIngest.Store;
using StreamIngest.Tests.Contracts;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>The same store contract as SQLite, against a Cosmos DB emulator or account when one is configured.</summary>
public sealed class CosmosPostStoreContractTests : PostStoreContract
{
    protected override async Task<IPostStore> NewStoreAsync()
    {
        Skip.If(CosmosTestSupport.ConnectionString is null, CosmosTestSupport.NotConfigured);
        return await CosmosTestSupport.NewStoreAsync(CosmosTestSupport.ConnectionString!, emulator: CosmosTestSupport.IsEmulator);
    }
}
