using System.Text.Json;
using Microsoft.Azure.Cosmos;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Model;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>What the store writes: document shape, TTL from created_at, the engagement patch, container policy and client options.</summary>
public class CosmosDocumentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(48);

    private static Post NewPost(DateTimeOffset createdAt, Engagement? metrics = null) => new()
    {
        Id = "bsky:did:plc:abc/3k1",
        Source = "bsky",
        NativeId = "did:plc:abc/3k1",
        CreatedAt = createdAt,
        Text = "river over the bridge",
        Metrics = metrics,
        Provenance = new Provenance("jetstream", "wss://example", createdAt, "00"),
    };

    [Fact]
    public void From_PostWithoutMetrics_StillWritesAMetricsObjectForPatchesToLandIn()
    {
        var doc = CosmosPostDocument.From(NewPost(Now), 32, Retention, Now);

        using var json = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(doc, PostJson.Options));
        var metrics = json.RootElement.GetProperty("post").GetProperty("metrics");
        Assert.Equal(0, metrics.GetProperty("likes").GetInt64());
        Assert.Equal("bsky:did:plc:abc/3k1", json.RootElement.GetProperty("postId").GetString());
        Assert.DoesNotContain('/', json.RootElement.GetProperty("id").GetString()!);
    }

    [Theory]
    [InlineData(0, 172_800)]         // new post: the whole retention
    [InlineData(47, 3_600)]          // 47 h old: one hour left
    [InlineData(72, 1)]              // older than retention (a replay): gone at once, not kept for 48 h more
    public void From_TtlIsWhatIsLeftOfRetentionCountedFromCreatedAt(int ageHours, int expectedTtl)
    {
        var doc = CosmosPostDocument.From(NewPost(Now.AddHours(-ageHours)), 32, Retention, Now);

        Assert.Equal(expectedTtl, doc.Ttl);
    }

    [Fact]
    public void EngagementPatch_SetsSummedMetricsTotalAndTheTtlLeftFromCreatedAt()
    {
        var stored = CosmosPostDocument.From(NewPost(Now.AddHours(-40), new Engagement(Likes: 3, Reposts: 1)), 32, Retention, Now.AddHours(-40));

        var ops = CosmosPostStore.EngagementPatch(stored, new Engagement(Likes: 2), Retention, Now);

        var byPath = ops.ToDictionary(o => o.Path);
        Assert.Equal(new Engagement(Likes: 5, Reposts: 1), ((PatchOperation<Engagement>)byPath["/post/metrics"]).Value);
        Assert.Equal(6L, ((PatchOperation<long>)byPath["/engagement"]).Value);
        Assert.Equal(8 * 3600, ((PatchOperation<int>)byPath["/ttl"]).Value); // not a fresh 48 h: the patch must not restart the clock
        Assert.All(ops, o => Assert.Equal(PatchOperationType.Set, o.OperationType));
    }

    [Fact]
    public void EngagementPatch_StoredWithoutMetrics_SetsTheWholeObject()
    {
        var stored = new CosmosPostDocument
        {
            Id = "x", PartitionKey = "bsky-01", PostId = "bsky:a/1", Source = "bsky", Text = "t", CreatedAtMs = Now.ToUnixTimeMilliseconds(),
            Post = NewPost(Now),
        };

        var ops = CosmosPostStore.EngagementPatch(stored, new Engagement(Likes: 1), Retention, Now);

        Assert.Equal(new Engagement(Likes: 1), ((PatchOperation<Engagement>)ops.Single(o => o.Path == "/post/metrics")).Value);
    }

    [Theory]
    [InlineData(1_000_000, "diskANN")]
    [InlineData(50_001, "diskANN")]
    [InlineData(50_000, "quantizedFlat")]
    [InlineData(5_000, "quantizedFlat")]
    public void ResolveVectorIndexType_Auto_ChoosesByExpectedPostsPerSearch(long expected, string type)
    {
        Assert.Equal(type, new CosmosOptions { ExpectedPostsPerSearch = expected }.ResolveVectorIndexType());
        Assert.Equal("quantizedFlat", new CosmosOptions { VectorIndexType = "quantizedFlat", ExpectedPostsPerSearch = expected }.ResolveVectorIndexType());
    }

    [Fact]
    public void ContainerProperties_RealDimensionsTtlOnAndTheResolvedVectorIndex()
    {
        var p = CosmosPostStore.ContainerPropertiesFor(new CosmosOptions { ExpectedPostsPerSearch = 2_000_000 }, Retention);

        Assert.Equal(384, p.VectorEmbeddingPolicy.Embeddings.Single().Dimensions);
        Assert.Equal(VectorIndexType.DiskANN, p.IndexingPolicy.VectorIndexes.Single().Type);
        Assert.Equal(172_800, p.DefaultTimeToLive);
    }

    [Fact]
    public void VectorIndexMismatch_ExistingContainerWithAnotherIndex_IsRefusedNamingTheKeys()
    {
        var existing = CosmosPostStore.ContainerPropertiesFor(new CosmosOptions { VectorIndexType = "quantizedFlat" }, Retention);

        var message = CosmosPostStore.VectorIndexMismatch(existing, new CosmosOptions { VectorIndexType = "diskANN" });

        Assert.Contains("Cosmos:VectorIndexType", message, StringComparison.Ordinal);
        Assert.Null(CosmosPostStore.VectorIndexMismatch(existing, new CosmosOptions { VectorIndexType = "quantizedFlat" }));
    }

    [Fact]
    public void ClientOptions_GatewayLimitToEndpointAndThrottleRetriesFromConfiguration()
    {
        var o = new CosmosOptions { ConnectionMode = "Gateway", LimitToEndpoint = true, MaxRetryAttemptsOnThrottle = 3, MaxRetryWaitOnThrottleSeconds = 7 };

        var client = CosmosClientFactory.CreateClientOptions(o, bulk: false);
        var bulk = CosmosClientFactory.CreateClientOptions(new CosmosOptions(), bulk: true);

        Assert.Equal(ConnectionMode.Gateway, client.ConnectionMode);
        Assert.True(client.LimitToEndpoint);
        Assert.Equal(3, client.MaxRetryAttemptsOnRateLimitedRequests);
        Assert.Equal(TimeSpan.FromSeconds(7), client.MaxRetryWaitTimeOnRateLimitedRequests);
        Assert.False(client.AllowBulkExecution);
        Assert.True(bulk.AllowBulkExecution);
        Assert.Equal(ConnectionMode.Direct, bulk.ConnectionMode);
    }

    [Fact]
    public void Validate_NamesTheKeyOfABadConnectionMode()
    {
        var errors = new CosmosOptions { Endpoint = "https://a", ConnectionMode = "Tcp" }.Validate().ToList();

        Assert.Contains(errors, e => e.StartsWith("Cosmos:ConnectionMode", StringComparison.Ordinal));
    }
}
