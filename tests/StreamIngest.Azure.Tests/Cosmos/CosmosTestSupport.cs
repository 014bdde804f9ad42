using System.Diagnostics.Metrics;
using Microsoft.Azure.Cosmos;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Azure.Tests.Cosmos;

internal static class CosmosTestSupport
{
    public const string NotConfigured = "no Cosmos DB emulator or account configured (set STREAMINGEST_COSMOS_CONNECTION to a connection string to run these)";

    public static string? ConnectionString => Environment.GetEnvironmentVariable("STREAMINGEST_COSMOS_CONNECTION");

    /// <summary>A store on a new container (own name) in the given account, created with the production policies.</summary>
    public static async Task<CosmosPostStore> NewStoreAsync(string connectionString, bool gateway)
    {
        var options = new CosmosOptions { ConnectionString = connectionString, Container = "c" + Guid.NewGuid().ToString("N")[..12], Bulk = false };
        var client = new CosmosClient(connectionString, new CosmosClientOptions
        {
            UseSystemTextJsonSerializerWithOptions = PostJson.Options,
            ConnectionMode = gateway ? ConnectionMode.Gateway : ConnectionMode.Direct,
            AllowBulkExecution = options.Bulk,
        });
        var container = await CosmosPostStore.EnsureContainerAsync(client, options, TimeSpan.FromHours(48), CancellationToken.None);
        return new CosmosPostStore(container, options, new UnusedEmbedder(), new HybridRanker(new RankingOptions(), TimeProvider.System), new TestMeterFactory(), TimeProvider.System);
    }

    private sealed class UnusedEmbedder : IEmbedder
    {
        public string Model => "none";

        public int Dimensions => 4;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(_ => new float[] { 1, 0, 0, 0 }).ToArray());
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
