using System.Net;
using Microsoft.Azure.Cosmos;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using StreamIngest.Azure.Cosmos;
using static StreamIngest.Azure.Cosmos.CosmosWatchStore;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The Cosmos DB watch store's decisions, offline: the documents and batches it sends and how it answers each
/// status. The whole contract runs against an emulator or account in <see cref="CosmosWatchStoreContractTests"/>.
/// </summary>
public class CosmosWatchStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static CosmosException Failure(HttpStatusCode status) => new($"status {(int)status}", status, 0, "activity", 1);

    /// <summary>A container whose batches record their operations and answer with <paramref name="statuses"/> in turn.</summary>
    private sealed class Fixture
    {
        public Container Container { get; } = Substitute.For<Container>();

        public List<List<object>> Batches { get; } = [];

        public List<string?> IfMatch { get; } = [];

        public Fixture(string[] existing, params HttpStatusCode[] statuses)
        {
            var found = Substitute.For<FeedResponse<IdRow>>();
            found.GetEnumerator().Returns(_ => existing.Select(id => new IdRow(id)).GetEnumerator());
            Container.ReadManyItemsAsync<IdRow>(default!, default, default).ReturnsForAnyArgs(found);
            var answers = new Queue<HttpStatusCode>(statuses);
            Container.CreateTransactionalBatch(default).ReturnsForAnyArgs(_ =>
            {
                var ops = new List<object>();
                Batches.Add(ops);
                var batch = Substitute.For<TransactionalBatch>();
                batch.CreateItem<CounterDocument>(default!, default).ReturnsForAnyArgs(c => { ops.Add(c.Arg<CounterDocument>()); return batch; });
                batch.CreateItem<EventDocument>(default!, default).ReturnsForAnyArgs(c => { ops.Add(c.Arg<EventDocument>()); return batch; });
                batch.ReplaceItem<CounterDocument>(default!, default!, default).ReturnsForAnyArgs(c =>
                {
                    ops.Add(c.Arg<CounterDocument>());
                    IfMatch.Add(c.Arg<TransactionalBatchItemRequestOptions>()?.IfMatchEtag);
                    return batch;
                });
                var response = Substitute.For<TransactionalBatchResponse>();
                var status = answers.Dequeue();
                response.StatusCode.Returns(status);
                response.IsSuccessStatusCode.Returns(status == HttpStatusCode.OK);
                batch.ExecuteAsync(default).ReturnsForAnyArgs(response);
                return batch;
            });
        }

        public void Counters(params (long Seq, string ETag)[] counters)
        {
            var responses = counters.Select(c =>
            {
                var r = Substitute.For<ItemResponse<CounterDocument>>();
                r.Resource.Returns(new CounterDocument("counter", "_watch-w1", c.Seq, -1));
                r.ETag.Returns(c.ETag);
                return r;
            }).ToArray();
            Container.ReadItemAsync<CounterDocument>(default!, default, default, default).ReturnsForAnyArgs(responses[0], responses[1..]);
        }
    }

    [Fact]
    public async Task Append_FirstEventsOfAWatch_CreateItsCounterAndNumberThemFromOne_InOneBatch()
    {
        var f = new Fixture([], HttpStatusCode.OK);
        f.Container.ReadItemAsync<CounterDocument>(default!, default, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.NotFound));

        var added = await new CosmosWatchStore(f.Container).AppendEventsAsync([("w1", "x:1", 0.9), ("w1", "x:2", 0.8)], Now, CancellationToken.None);

        Assert.Equal(2, added);
        var ops = Assert.Single(f.Batches);
        Assert.Equal(new CounterDocument("counter", "_watch-w1", 2, -1), ops[0]);
        Assert.Equal([(EventId("x:1"), 1L, "x:1"), (EventId("x:2"), 2L, "x:2")], ops.Skip(1).Cast<EventDocument>().Select(e => (e.Id, e.Seq, e.PostRef)));
        Assert.All(ops.Skip(1).Cast<EventDocument>(), e => Assert.Equal(("_watch-w1", EventType, Now.ToUnixTimeMilliseconds()), (e.Pk, e.Type, e.AtMs)));
        Assert.All(ops.Skip(1).Cast<EventDocument>(), e => Assert.Equal(7 * 24 * 3600, e.Ttl)); // their own TTL, not the posts' 48 h
        f.Container.Received(1).CreateTransactionalBatch(new PartitionKey("_watch-w1"));
    }

    [Fact]
    public async Task Append_ARedeliveredBatch_FindsItsEventsAndWritesNothing()
    {
        var f = new Fixture([EventId("x:1"), EventId("x:2")]);

        var added = await new CosmosWatchStore(f.Container).AppendEventsAsync([("w1", "x:1", 0.9), ("w1", "x:2", 0.8)], Now, CancellationToken.None);

        Assert.Equal(0, added);
        Assert.Empty(f.Batches);
    }

    [Fact]
    public async Task Append_WhenAnotherWriterMovedTheCounter_RebuildsTheBatchOnTheNewOne()
    {
        var f = new Fixture([], HttpStatusCode.PreconditionFailed, HttpStatusCode.OK);
        f.Counters((5, "\"e1\""), (7, "\"e2\""));

        var added = await new CosmosWatchStore(f.Container).AppendEventsAsync([("w1", "x:1", 0.9)], Now, CancellationToken.None);

        Assert.Equal(1, added);
        Assert.Equal(["\"e1\"", "\"e2\""], f.IfMatch);
        Assert.Equal(8, f.Batches[1].OfType<EventDocument>().Single().Seq);
        Assert.Equal(8, f.Batches[1].OfType<CounterDocument>().Single().Seq);
    }

    [Fact]
    public async Task Append_ManyEvents_SplitIntoBatchesOfAtMostAHundredOperations()
    {
        var f = new Fixture([], HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK);
        f.Counters((0, "\"a\""), (99, "\"b\""), (198, "\"c\""));

        var added = await new CosmosWatchStore(f.Container).AppendEventsAsync([.. Enumerable.Range(0, 250).Select(i => ("w1", $"x:{i}", 0.5))], Now, CancellationToken.None);

        Assert.Equal(250, added);
        Assert.Equal([100, 100, 53], f.Batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), f.Batches.SelectMany(b => b.OfType<EventDocument>()).Select(e => e.Seq));
    }

    [Fact]
    public async Task Append_AFailureOtherThanARace_IsRaisedWithItsStatus()
    {
        var f = new Fixture([], HttpStatusCode.RequestEntityTooLarge);
        f.Counters((0, "\"a\""));

        var e = await Assert.ThrowsAsync<CosmosException>(() => new CosmosWatchStore(f.Container).AppendEventsAsync([("w1", "x:1", 0.9)], Now, CancellationToken.None));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, e.StatusCode);
    }

    [Fact]
    public async Task Lease_HeldByAnother_IsAPreconditionFailure_AndAnswersFalse()
    {
        var container = Substitute.For<Container>();
        container.PatchItemAsync<DeliveryStateDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.PreconditionFailed));

        var leased = await new CosmosWatchStore(container).TryLeaseDeliveryAsync("w1", "replica-b", Now, Now.AddMinutes(2), CancellationToken.None);

        Assert.False(leased);
        await container.Received(1).PatchItemAsync<DeliveryStateDocument>("delivery", new PartitionKey("_watch-w1"), Arg.Any<IReadOnlyList<PatchOperation>>(),
            Arg.Is<PatchItemRequestOptions>(o => o.FilterPredicate == LeasePredicate("replica-b", Now)), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Lease_OnAWatchWithNoDeliveryStateYet_CreatesItHeldByTheCaller()
    {
        var container = Substitute.For<Container>();
        container.PatchItemAsync<DeliveryStateDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.NotFound));

        var leased = await new CosmosWatchStore(container).TryLeaseDeliveryAsync("w1", "replica-a", Now, Now.AddMinutes(2), CancellationToken.None);

        Assert.True(leased);
        await container.Received(1).CreateItemAsync(
            new DeliveryStateDocument("delivery", "_watch-w1", 0, "replica-a", Now.AddMinutes(2).ToUnixTimeMilliseconds(), -1),
            new PartitionKey("_watch-w1"), Arg.Any<ItemRequestOptions>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Get_IsAPointReadInTheWatchesPartition_AndNullWhenAbsent()
    {
        var container = Substitute.For<Container>();
        container.ReadItemAsync<WatchDocument>(default!, default, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.NotFound));

        var watch = await new CosmosWatchStore(container).GetAsync("w9", CancellationToken.None);

        Assert.Null(watch);
        await container.Received(1).ReadItemAsync<WatchDocument>("watch-w9", new PartitionKey(WatchesPartition), Arg.Any<ItemRequestOptions>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public void LeasePredicate_FreeExpiredOrOwn_WithTheOwnerQuotedSafely()
    {
        var predicate = LeasePredicate("host/1/it's", Now);

        Assert.Equal($"FROM c WHERE c.leaseOwner = 'host/1/it\\'s' OR NOT IS_DEFINED(c.leaseUntilMs) OR c.leaseUntilMs <= {Now.ToUnixTimeMilliseconds()}", predicate);
    }

    [Fact]
    public async Task SetDelivered_OnlyMovesForward_ThroughAConditionalPatch()
    {
        var container = Substitute.For<Container>();
        container.PatchItemAsync<DeliveryStateDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.PreconditionFailed));

        await new CosmosWatchStore(container).SetDeliveredAsync("w1", 3, CancellationToken.None); // already at 5: nothing to do, no error

        await container.Received(1).PatchItemAsync<DeliveryStateDocument>("delivery", new PartitionKey("_watch-w1"),
            Arg.Is<IReadOnlyList<PatchOperation>>(ops => ops.Single().Path == "/delivered"),
            Arg.Is<PatchItemRequestOptions>(o => o.FilterPredicate == "FROM c WHERE c.delivered < 3"), Arg.Any<CancellationToken>());
        await container.DidNotReceiveWithAnyArgs().CreateItemAsync<DeliveryStateDocument>(default!, default, default, default);
    }

    [Fact]
    public void EventsQuery_InSequenceAfterThePosition_EveryValueAParameter()
    {
        var q = EventsQuery(41, 100);

        Assert.Equal("SELECT TOP @n c.seq, c.postRef, c.score, c.atMs FROM c WHERE c.type = @type AND c.seq > @after ORDER BY c.seq", q.QueryText);
        Assert.Equal([("@n", (object)100), ("@type", EventType), ("@after", 41L)], q.GetQueryParameters().Select(p => (p.Name, p.Value)));
    }

    [Fact]
    public void EventDocuments_NeverLookLikePosts()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new EventDocument(EventId("x:1"), "_watch-w1", EventType, "w1", 1, "x:1", 0.9, 0, 604800));

        // Post queries pick documents by IS_DEFINED(c.postId) or search /text and /embedding.
        Assert.DoesNotContain("\"postId\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"text\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"embedding\"", json, StringComparison.Ordinal);
        Assert.Matches("^ev-[A-Za-z0-9_-]+$", EventId("x:1"));
    }
}
