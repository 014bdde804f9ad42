using Azure.Identity;
using Microsoft.Azure.Cosmos;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Embed;
using StreamIngest.Retrieve;

using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.Cosmos;

internal static class CosmosTestSupport
{
    public const string NotConfigured = "no Cosmos DB emulator or account configured (set STREAMINGEST_COSMOS_CONNECTION to a connection string to run these)";

    public static string? ConnectionString => Environment.GetEnvironmentVariable("STREAMINGEST_COSMOS_CONNECTION");

    /// <summary>STREAMINGEST_COSMOS_EMULATOR=1: the connection string is an emulator's (Gateway mode, its endpoint only).</summary>
    public static bool IsEmulator => Environment.GetEnvironmentVariable("STREAMINGEST_COSMOS_EMULATOR") == "1";

    /// <summary>Options for a new container (own name) in the given account; an emulator needs Gateway mode and its own endpoint only.</summary>
    public static CosmosOptions NewOptions(string connectionString, bool emulator) => new()
    {
        ConnectionString = connectionString,
        Container = "c" + Guid.NewGuid().ToString("N")[..12],
        Bulk = false,
        ConnectionMode = emulator ? "Gateway" : "Direct",
        LimitToEndpoint = emulator,
        VectorIndexType = "quantizedFlat",
    };

    /// <summary>A store on a new container, created with the production policies.</summary>
    public static async Task<(CosmosPostStore Store, Container Container)> NewStoreAsync(CosmosOptions options, TimeSpan retention)
    {
        var client = CosmosClientFactory.Create(options, new DefaultAzureCredential(), bulk: false);
        var container = await CosmosPostStore.EnsureContainerAsync(client, options, retention, CancellationToken.None);
        var store = new CosmosPostStore(container, null, options, retention, new UnitEmbedder(), new HybridRanker(new RankingOptions(), TimeProvider.System), new TestMeterFactory(), TimeProvider.System);
        return (store, container);
    }

    public static async Task<CosmosPostStore> NewStoreAsync(string connectionString, bool emulator) =>
        (await NewStoreAsync(NewOptions(connectionString, emulator), TimeSpan.FromHours(48))).Store;

    /// <summary>A 384-dimension unit vector (the container's real dimension), different per seed.</summary>
    public static float[] UnitVector(int seed)
    {
        var v = new float[CosmosPostStore.EmbeddingDimensions];
        v[Math.Abs(seed) % v.Length] = 1;
        return v;
    }

    private sealed class UnitEmbedder : IEmbedder
    {
        public string Model => "test";

        public int Dimensions => CosmosPostStore.EmbeddingDimensions;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(t => UnitVector(t.Length)).ToArray());
    }

}
