using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using StreamIngest.Model;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The official Cosmos DB Linux (vNext) emulator in a container (generic Testcontainers builder). Real
/// tests where a Docker engine answers; skipped with the reason where none does (as on this machine and in CI).
/// </summary>
public sealed class CosmosEmulatorContainerTests : IAsyncLifetime
{
    private const string Image = "mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator:vnext-preview";
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

    [SkippableFact]
    public async Task Emulator_UpsertReadDelete_RoundTripsAPost()
    {
        Skip.IfNot(DockerAvailable, NoDocker);
        var connection = $"AccountEndpoint=http://{_container!.Hostname}:{_container.GetMappedPublicPort(8081)}/;AccountKey={EmulatorKey};";
        var store = await CosmosTestSupport.NewStoreAsync(connection, gateway: true);
        var post = new Post
        {
            Id = "bsky:did:plc:emu/1",
            Source = "bsky",
            NativeId = "did:plc:emu/1",
            CreatedAt = DateTimeOffset.UtcNow,
            Text = "emulator round trip",
            Provenance = new Provenance("test", "emulator", DateTimeOffset.UtcNow, "00"),
            Embedding = [1, 0, 0, 0],
        };

        await store.UpsertAsync([post], CancellationToken.None);
        var back = await store.GetAsync(post.Id, CancellationToken.None);
        var deleted = await store.DeleteAsync([post.Id], CancellationToken.None);

        Assert.Equal("emulator round trip", back!.Text);
        Assert.Equal(1, deleted);
        Assert.True(store.Cost.RuPerPost > 0);
    }
}
