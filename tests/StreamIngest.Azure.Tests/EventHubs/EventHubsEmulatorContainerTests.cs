using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Producer;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using StreamIngest.Azure.Tests.Cosmos;
using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>
/// The official Event Hubs emulator (with Azurite beside it, as it requires), started with the generic
/// Testcontainers builder and our infra/emulators config. Real where a Docker engine answers; skipped with
/// the reason where none does.
/// </summary>
public sealed class EventHubsEmulatorContainerTests : IAsyncLifetime
{
    private INetwork? _network;
    private IContainer? _azurite;
    private IContainer? _eventHubs;

    public async Task InitializeAsync()
    {
        if (!CosmosEmulatorContainerTests.DockerAvailable)
        {
            return;
        }

        _network = new NetworkBuilder().Build();
        _azurite = new ContainerBuilder("mcr.microsoft.com/azure-storage/azurite")
            .WithNetwork(_network)
            .WithNetworkAliases("azurite")
            .WithCommand("azurite", "--blobHost", "0.0.0.0", "--queueHost", "0.0.0.0", "--tableHost", "0.0.0.0", "--skipApiVersionCheck")
            .Build();
        _eventHubs = new ContainerBuilder("mcr.microsoft.com/azure-messaging/eventhubs-emulator:latest")
            .WithNetwork(_network)
            .WithEnvironment("BLOB_SERVER", "azurite")
            .WithEnvironment("METADATA_SERVER", "azurite")
            .WithEnvironment("ACCEPT_EULA", "Y")
            .WithResourceMapping(new FileInfo(Path.Combine(TestPaths.RepoRoot, "infra", "emulators", "eventhubs-config.json")), "/Eventhubs_Emulator/ConfigFiles/")
            .WithPortBinding(5672, true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Emulator Service is Successfully Up"))
            .Build();
        await _network.CreateAsync();
        await _azurite.StartAsync();
        await _eventHubs.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var c in new[] { _eventHubs, _azurite })
        {
            if (c is not null)
            {
                await c.DisposeAsync();
            }
        }

        if (_network is not null)
        {
            await _network.DeleteAsync();
        }
    }

    [SkippableFact]
    public async Task Emulator_SendAndRead_RoundTripsAnEvent()
    {
        Skip.IfNot(CosmosEmulatorContainerTests.DockerAvailable, CosmosEmulatorContainerTests.NoDocker);
        var connection = $"Endpoint=sb://{_eventHubs!.Hostname}:{_eventHubs.GetMappedPublicPort(5672)};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;";
        await using var producer = new EventHubProducerClient(connection, "posts");
        await using var consumer = new EventHubConsumerClient("process", connection, "posts");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await producer.SendAsync([new EventData(BinaryData.FromString("hello emulator"))], new SendEventOptions { PartitionId = "0" }, cts.Token);
        await foreach (var e in consumer.ReadEventsFromPartitionAsync("0", EventPosition.Earliest, cts.Token))
        {
            Assert.Equal("hello emulator", e.Data.EventBody.ToString());
            break;
        }
    }
}
