using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Processor;
using StreamIngest.Azure.EventHubs;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>The Blob Storage checkpoint store against a real Azurite.</summary>
public class BlobCheckpointStoreTests
{
    private const string Ns = "StreamIngest.servicebus.windows.net";
    private const string Hub = "posts";
    private const string Group = "$Default";

    private static EventProcessorPartitionOwnership Want(string partition, string owner, string? version = null) => new()
    {
        FullyQualifiedNamespace = Ns,
        EventHubName = Hub,
        ConsumerGroup = Group,
        PartitionId = partition,
        OwnerIdentifier = owner,
        Version = version,
    };

    [SkippableFact]
    public async Task ClaimOwnershipAsync_FirstClaim_IsGrantedWithAVersionAndListed()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        var store = new BlobCheckpointStore(await Azurite.NewContainerAsync());

        var claimed = (await store.ClaimOwnershipAsync([Want("0", "processor-a")], CancellationToken.None)).ToList();
        var listed = (await store.ListOwnershipAsync(Ns, Hub, Group, CancellationToken.None)).ToList();

        var mine = Assert.Single(claimed);
        Assert.NotNull(mine.Version);
        var seen = Assert.Single(listed);
        Assert.Equal(("0", "processor-a", mine.Version), (seen.PartitionId, seen.OwnerIdentifier, seen.Version));
        Assert.True(seen.LastModifiedTime > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [SkippableFact]
    public async Task ClaimOwnershipAsync_StaleVersion_IsRejected()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        var store = new BlobCheckpointStore(await Azurite.NewContainerAsync());
        var first = (await store.ClaimOwnershipAsync([Want("0", "processor-a")], CancellationToken.None)).Single();

        // B takes over with the version it listed; A's renewal with the older version must then fail.
        var takeover = await store.ClaimOwnershipAsync([Want("0", "processor-b", first.Version)], CancellationToken.None);
        var staleRenewal = await store.ClaimOwnershipAsync([Want("0", "processor-a", first.Version)], CancellationToken.None);

        Assert.Single(takeover);
        Assert.Empty(staleRenewal);
        Assert.Equal("processor-b", (await store.ListOwnershipAsync(Ns, Hub, Group, CancellationToken.None)).Single().OwnerIdentifier);
    }

    [SkippableFact]
    public async Task ClaimOwnershipAsync_TwoFirstClaimsOnOnePartition_OnlyOneWins()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        var store = new BlobCheckpointStore(await Azurite.NewContainerAsync());

        var results = await Task.WhenAll(
            store.ClaimOwnershipAsync([Want("3", "processor-a")], CancellationToken.None),
            store.ClaimOwnershipAsync([Want("3", "processor-b")], CancellationToken.None));

        Assert.Equal(1, results.Sum(r => r.Count()));
    }

    [SkippableFact]
    public async Task ClaimOwnershipAsync_TwoProcessors_SplitThePartitionsAndTakeOverAfterExpiry()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        var store = new BlobCheckpointStore(await Azurite.NewContainerAsync());

        await store.ClaimOwnershipAsync([Want("0", "a"), Want("1", "a")], CancellationToken.None);
        await store.ClaimOwnershipAsync([Want("2", "b"), Want("3", "b")], CancellationToken.None);
        var split = (await store.ListOwnershipAsync(Ns, Hub, Group, CancellationToken.None)).ToDictionary(o => o.PartitionId, o => o.OwnerIdentifier);

        Assert.Equal(new Dictionary<string, string> { ["0"] = "a", ["1"] = "a", ["2"] = "b", ["3"] = "b" }, split);

        // A stops renewing; once its claims have expired, B claims them with the versions it lists.
        var expired = (await store.ListOwnershipAsync(Ns, Hub, Group, CancellationToken.None)).Where(o => o.OwnerIdentifier == "a").ToList();
        var taken = await store.ClaimOwnershipAsync(expired.Select(o => Want(o.PartitionId, "b", o.Version)), CancellationToken.None);

        Assert.Equal(2, taken.Count());
        Assert.All(await store.ListOwnershipAsync(Ns, Hub, Group, CancellationToken.None), o => Assert.Equal("b", o.OwnerIdentifier));
    }

    [SkippableFact]
    public async Task UpdateCheckpointAsync_ThenGet_ResumesAfterTheCheckpointedEvent()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        var store = new BlobCheckpointStore(await Azurite.NewContainerAsync());

        Assert.Null(await store.GetCheckpointAsync(Ns, Hub, Group, "1", CancellationToken.None));
        await store.UpdateCheckpointAsync(Ns, Hub, Group, "1", "processor-a", new CheckpointPosition("4100", 41), CancellationToken.None);
        await store.UpdateCheckpointAsync(Ns, Hub, Group, "1", "processor-a", new CheckpointPosition("9900", 99), CancellationToken.None);
        var checkpoint = await store.GetCheckpointAsync(Ns, Hub, Group, "1", CancellationToken.None);

        Assert.NotNull(checkpoint);
        Assert.Equal(EventPosition.FromOffset("9900", isInclusive: false), checkpoint.StartingPosition);
        Assert.Equal("processor-a", checkpoint.ClientIdentifier);
        Assert.Null(await store.GetCheckpointAsync(Ns, Hub, "other-group", "1", CancellationToken.None));
    }
}
