using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using Microsoft.Azure.Cosmos;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Model;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The official Cosmos DB Linux (vNext) emulator in a container (generic Testcontainers builder). Real tests where a
/// Docker engine answers; skipped with the reason where none does (as on this machine and in CI).
/// The emulator serves the NoSQL API in Gateway mode with a subset of features
/// (https://learn.microsoft.com/azure/cosmos-db/emulator-linux#feature-support): documents, patch, TTL and queries
/// are checked here; vector search, full-text search, hybrid ranking, custom indexing policies and request-unit
/// charges are not emulated, so those need a real account (STREAMINGEST_COSMOS_CONNECTION, see README).
/// </summary>
public sealed class CosmosEmulatorContainerTests : IAsyncLifetime
{
    private const string Image = "mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator:vnext-latest";
    private const string EmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
    private IContainer? _container;

    public static bool DockerAvailable =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || File.Exists("/var/run/docker.sock");

    public const string NoDocker = "no Docker engine answers here (DOCKER_HOST unset, /var/run/docker.sock absent)";

    public async Task InitializeAsync()
    {
        if (!DockerAvailable)
        {
            return;
        }

        _container = new ContainerBuilder(Image)
            .WithPortBinding(8081, true)
            .WithEnvironment("PROTOCOL", "http")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort(8081).ForPath("/")))
            .Build();
        await _container.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    private CosmosOptions Options() =>
        CosmosTestSupport.NewOptions($"AccountEndpoint=http://{_container!.Hostname}:{_container.GetMappedPublicPort(8081)}/;AccountKey={EmulatorKey};", emulator: true);

    private static Post NewPost(string nativeId, DateTimeOffset createdAt, string text) => new()
    {
        Id = Post.MakeId("bsky", nativeId),
        Source = "bsky",
        NativeId = nativeId,
        CreatedAt = createdAt,
        Text = text,
        Provenance = new Provenance("test", "emulator", createdAt, "00"),
        Embedding = CosmosTestSupport.UnitVector(text.Length),
    };

    [SkippableFact]
    public async Task Emulator_UpsertReadPatchDelete_WithSlashIdsAndNoMetrics()
    {
        Skip.IfNot(DockerAvailable, NoDocker);
        var (store, _) = await CosmosTestSupport.NewStoreAsync(Options(), TimeSpan.FromHours(48));
        var post = NewPost("did:plc:emu/3k1", DateTimeOffset.UtcNow, "emulator round trip");

        await store.UpsertAsync([post], CancellationToken.None);
        var back = await store.GetAsync(post.Id, CancellationToken.None);
        var liked = await store.AddEngagementAsync(new Dictionary<string, Engagement> { [post.Id] = new(Likes: 2) }, CancellationToken.None);
        var afterLike = await store.GetAsync(post.Id, CancellationToken.None);
        var count = await store.CountAsync(CancellationToken.None);
        var deleted = await store.DeleteAsync([post.Id], CancellationToken.None);

        Assert.Equal("emulator round trip", back!.Text);
        Assert.Equal(CosmosPostStore.EmbeddingDimensions, back.Embedding!.Length);
        Assert.Equal(1, liked);
        Assert.Equal(2, afterLike!.Metrics!.Likes);
        Assert.Equal(1, count);
        Assert.Equal(1, deleted);
    }

    [SkippableFact]
    public async Task Emulator_PostOlderThanRetention_ExpiresByItsOwnTtl()
    {
        Skip.IfNot(DockerAvailable, NoDocker);
        var (store, _) = await CosmosTestSupport.NewStoreAsync(Options(), TimeSpan.FromSeconds(30));
        var old = NewPost("did:plc:emu/old", DateTimeOffset.UtcNow.AddSeconds(-29), "old replayed post");

        await store.UpsertAsync([old], CancellationToken.None);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await store.GetAsync(old.Id, CancellationToken.None) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Null(await store.GetAsync(old.Id, CancellationToken.None));
    }
}
