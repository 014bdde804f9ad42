using System.Net;
using Microsoft.Azure.Cosmos;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Store;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>Burst counts in Cosmos DB: increment when the bucket exists, create when it does not, patch after losing a create race.</summary>
public class CosmosEntityCountStoreTests
{
    private static readonly DateTimeOffset B0 = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private static CosmosException Failure(HttpStatusCode status) => new($"status {(int)status}", status, 0, "activity", 1);

    [Fact]
    public async Task Add_NewBucket_IsCreatedWithTheCountsAndATtl()
    {
        var container = Substitute.For<Container>();
        container.PatchItemAsync<CosmosEntityCountStore.CountDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.NotFound));
        var count = new EntityCount("$NVDA", B0, 3, 0.6, 2);

        await new CosmosEntityCountStore(container).AddAsync([count], CancellationToken.None);

        await container.Received(1).CreateItemAsync(
            Arg.Is<CosmosEntityCountStore.CountDocument>(d => d.Entity == "$NVDA" && d.Posts == 3 && d.SentimentPosts == 2 && d.Ttl == CosmosEntityCountStore.TtlSeconds && d.Pk == $"_counts-{B0.ToUnixTimeMilliseconds()}" && d.Id.StartsWith("count-", StringComparison.Ordinal)),
            Arg.Any<PartitionKey?>(), Arg.Any<ItemRequestOptions>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Add_LostTheCreateRace_IncrementsInstead()
    {
        var container = Substitute.For<Container>();
        var patches = 0;
        var patched = Substitute.For<ItemResponse<CosmosEntityCountStore.CountDocument>>();
        container.PatchItemAsync<CosmosEntityCountStore.CountDocument>(default!, default, default!, default, default).ReturnsForAnyArgs(_ => ++patches == 1 ? throw Failure(HttpStatusCode.NotFound) : patched);
        container.CreateItemAsync<CosmosEntityCountStore.CountDocument>(default!, default, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.Conflict));

        await new CosmosEntityCountStore(container).AddAsync([new EntityCount("#flood", B0, 1, 0, 0)], CancellationToken.None);

        Assert.Equal(2, patches);
    }

    [Fact]
    public void Increments_AddEveryCounterAndKeepTheTtl()
    {
        var ops = CosmosEntityCountStore.Increments(new EntityCount("#flood", B0, 4, -0.5, 1));

        Assert.Equal(["/posts", "/sentimentSum", "/sentimentPosts", "/ttl"], ops.Select(o => o.Path));
        Assert.Equal([PatchOperationType.Increment, PatchOperationType.Increment, PatchOperationType.Increment, PatchOperationType.Set], ops.Select(o => o.OperationType));
    }

    [Fact]
    public void ReadQuery_CountDocumentsOnlyFromTheWindow()
    {
        var q = CosmosEntityCountStore.ReadQuery(B0);

        Assert.Contains("c.type = @type AND c.bucketMs >= @since", q.QueryText, StringComparison.Ordinal);
        Assert.Equal(B0.ToUnixTimeMilliseconds(), q.GetQueryParameters().Single(p => p.Name == "@since").Value);
    }
}
