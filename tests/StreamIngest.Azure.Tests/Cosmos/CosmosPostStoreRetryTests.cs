using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;

using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// Which failures the store retries, against a substitute <see cref="Container"/> that answers like the service
/// would: ambiguous failures (408/503) are retried only for idempotent writes; 429 is left to the SDK.
/// </summary>
public class CosmosPostStoreRetryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class NoEmbedder : IEmbedder
    {
        public string Model => "none";

        public int Dimensions => 384;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static CosmosException Failure(HttpStatusCode status) => new($"status {(int)status}", status, 0, "activity", 1);

    private static CosmosPostStore Store(Container container, TimeProvider time) =>
        new(container, null, new CosmosOptions(), TimeSpan.FromHours(48), new NoEmbedder(), new HybridRanker(new RankingOptions(), time), new TestMeterFactory(), time);

    private static Post NewPost(string id) => new()
    {
        Id = id,
        Source = "bsky",
        NativeId = id[5..],
        CreatedAt = Now,
        Text = "t",
        Provenance = new Provenance("test", "test", Now, "00"),
    };

    private static ItemResponse<CosmosPostDocument> Stored(Post post, string etag)
    {
        var response = Substitute.For<ItemResponse<CosmosPostDocument>>();
        response.Resource.Returns(CosmosPostDocument.From(post, 32, TimeSpan.FromHours(48), Now));
        response.ETag.Returns(etag);
        return response;
    }

    /// <summary>Runs <paramref name="work"/> while moving fake time on, until it completes (retry delays elapse at once).</summary>
    private static async Task<T> DriveAsync<T>(FakeTimeProvider time, Task<T> work)
    {
        while (!work.IsCompleted)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(work, Task.Delay(5));
        }

        return await work;
    }

    [Fact]
    public async Task AddEngagement_PatchTimesOut_IsNotSentAgainAndDoesNotThrow()
    {
        var container = Substitute.For<Container>();
        var post = NewPost("bsky:did:plc:a/1");
        var stored = Stored(post, "\"e1\"");
        container.ReadItemAsync<CosmosPostDocument>(default!, default, default, default).ReturnsForAnyArgs(stored);
        container.PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.RequestTimeout));
        var time = new FakeTimeProvider(Now);

        var updated = await DriveAsync(time, Store(container, time).AddEngagementAsync(new Dictionary<string, Engagement> { [post.Id] = new(Likes: 1) }, CancellationToken.None));

        Assert.Equal(0, updated);
        await container.ReceivedWithAnyArgs(1).PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default);
    }

    [Fact]
    public async Task AddEngagement_ConcurrentChange_ReadsAgainAndPatchesUnderTheNewEtag()
    {
        var container = Substitute.For<Container>();
        var post = NewPost("bsky:did:plc:a/2");
        var first = Stored(post, "\"e1\"");
        var second = Stored(post, "\"e2\"");
        var patched = Substitute.For<ItemResponse<CosmosPostDocument>>();
        container.ReadItemAsync<CosmosPostDocument>(default!, default, default, default).ReturnsForAnyArgs(first, second);
        var etags = new List<string>();
        container.PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default).ReturnsForAnyArgs(
            call =>
            {
                etags.Add(((PatchItemRequestOptions)call[3]).IfMatchEtag);
                return etags.Count == 1 ? throw Failure(HttpStatusCode.PreconditionFailed) : patched;
            });
        var time = new FakeTimeProvider(Now);

        var updated = await Store(container, time).AddEngagementAsync(new Dictionary<string, Engagement> { [post.Id] = new(Likes: 1) }, CancellationToken.None);

        Assert.Equal(1, updated);
        Assert.Equal(["\"e1\"", "\"e2\""], etags);
        await container.Received(2).PatchItemAsync<CosmosPostDocument>(CosmosPostDocument.DocumentId(post.Id), Arg.Any<PartitionKey>(), Arg.Any<IReadOnlyList<PatchOperation>>(), Arg.Any<PatchItemRequestOptions>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Upsert_TimesOutOnce_IsSentAgainWithTheSameEscapingFreeId()
    {
        var container = Substitute.For<Container>();
        var calls = 0;
        var written = Substitute.For<ItemResponse<CosmosPostDocument>>();
        container.UpsertItemAsync<CosmosPostDocument>(default!, default, default, default).ReturnsForAnyArgs(_ =>
            ++calls == 1 ? throw Failure(HttpStatusCode.RequestTimeout) : written);
        var time = new FakeTimeProvider(Now);
        var post = NewPost("bsky:did:plc:a/3");

        await DriveAsync(time, Store(container, time).UpsertAsync([post], CancellationToken.None).ContinueWith(t => t.IsFaulted ? throw t.Exception! : 0, TaskScheduler.Default));

        Assert.Equal(2, calls);
        await container.Received(2).UpsertItemAsync(
            Arg.Is<CosmosPostDocument>(d => d.Id == CosmosPostDocument.DocumentId(post.Id) && d.PostId == post.Id && d.Ttl == 172_800),
            Arg.Any<PartitionKey?>(), Arg.Any<ItemRequestOptions>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task Upsert_Throttled_IsLeftToTheSdkAndNotRetriedAgainHere()
    {
        var container = Substitute.For<Container>();
        container.UpsertItemAsync<CosmosPostDocument>(default!, default, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.TooManyRequests));
        var time = new FakeTimeProvider(Now);

        var error = await Assert.ThrowsAsync<CosmosException>(() => Store(container, time).UpsertAsync([NewPost("bsky:did:plc:a/4")], CancellationToken.None));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        await container.ReceivedWithAnyArgs(1).UpsertItemAsync<CosmosPostDocument>(default!, default, default, default);
    }

    [Fact]
    public async Task Count_CountsPostsOnlyNotCursorsOrDeadLetters()
    {
        var container = Substitute.For<Container>();
        QueryDefinition? sent = null;
        var iterator = Substitute.For<FeedIterator<long>>();
        iterator.HasMoreResults.Returns(false);
        container.GetItemQueryIterator<long>(Arg.Do<QueryDefinition>(q => sent = q), Arg.Any<string>(), Arg.Any<QueryRequestOptions>()).Returns(iterator);

        await Store(container, new FakeTimeProvider(Now)).CountAsync(CancellationToken.None);

        Assert.Equal("SELECT VALUE COUNT(1) FROM c WHERE IS_DEFINED(c.postId)", sent!.QueryText);
    }

    private static ItemResponse<CosmosPostDocument> StoredWith(Post post, string etag, long likes, Dictionary<string, long>? seen)
    {
        post.Metrics = new Engagement(Likes: likes);
        var document = CosmosPostDocument.From(post, 32, TimeSpan.FromHours(48), Now);
        var response = Substitute.For<ItemResponse<CosmosPostDocument>>();
        response.Resource.Returns(new CosmosPostDocument
        {
            Id = document.Id, PartitionKey = document.PartitionKey, PostId = document.PostId, Source = document.Source, Text = document.Text,
            CreatedAtMs = document.CreatedAtMs, Post = document.Post, Engagement = likes, EngagementSeen = seen,
        });
        response.ETag.Returns(etag);
        return response;
    }

    private static EngagementEvent Like(long sequence) => new(new Engagement(Likes: 1), new TransportPosition("eventhubs/0", sequence));

    [Fact]
    public void EngagementPatch_RedeliveredInOtherBatches_AppliesOnlyWhatIsNewer()
    {
        var post = NewPost("bsky:did:plc:a/5");
        var stored = StoredWith(post, "\"e1\"", likes: 2, new Dictionary<string, long> { ["eventhubs/0"] = 60 }).Resource;

        // The batch that carried 10 and 60 was applied; the partition is read again from an older checkpoint, in a larger batch.
        var again = CosmosPostStore.EngagementPatch(stored, [Like(10), Like(60), Like(70)], TimeSpan.FromHours(48), Now)!;
        var nothingNew = CosmosPostStore.EngagementPatch(stored, [Like(10), Like(60)], TimeSpan.FromHours(48), Now);

        Assert.Null(nothingNew);
        Assert.Contains(again, o => o.Path == "/engagement" && o is PatchOperation<long> { Value: 3 });
        Assert.Contains(again, o => o.Path == "/engagementSeen" && o is PatchOperation<Dictionary<string, long>> { Value: var seen } && seen["eventhubs/0"] == 70);
    }

    [Fact]
    public async Task AddEngagement_PositionedPatchTimesOutButLanded_IsReadAgainAndNotAppliedTwice()
    {
        var container = Substitute.For<Container>();
        var post = NewPost("bsky:did:plc:a/6");
        var before = StoredWith(post, "\"e1\"", likes: 2, null);
        var landed = StoredWith(NewPost("bsky:did:plc:a/6"), "\"e2\"", likes: 3, new Dictionary<string, long> { ["eventhubs/0"] = 41 });
        container.ReadItemAsync<CosmosPostDocument>(default!, default, default, default).ReturnsForAnyArgs(before, landed);
        container.PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default).ThrowsAsyncForAnyArgs(Failure(HttpStatusCode.RequestTimeout));
        var time = new FakeTimeProvider(Now);

        var updated = await Store(container, time).AddEngagementAsync(
            new Dictionary<string, IReadOnlyList<EngagementEvent>> { [post.Id] = [Like(41)] }, CancellationToken.None);

        Assert.Equal(0, updated); // the second read shows position 41 applied: nothing is sent again
        await container.ReceivedWithAnyArgs(1).PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default);
        await container.ReceivedWithAnyArgs(2).ReadItemAsync<CosmosPostDocument>(default!, default, default, default);
    }

    [Fact]
    public async Task AddEngagement_PositionedPatchTimesOutAndDidNotLand_IsSentAgain()
    {
        var container = Substitute.For<Container>();
        var post = NewPost("bsky:did:plc:a/7");
        var stored = StoredWith(post, "\"e1\"", likes: 2, null);
        container.ReadItemAsync<CosmosPostDocument>(default!, default, default, default).ReturnsForAnyArgs(stored);
        var calls = 0;
        var patched = Substitute.For<ItemResponse<CosmosPostDocument>>();
        container.PatchItemAsync<CosmosPostDocument>(default!, default, default!, default, default).ReturnsForAnyArgs(_ =>
            ++calls == 1 ? throw Failure(HttpStatusCode.ServiceUnavailable) : patched);
        var time = new FakeTimeProvider(Now);

        var updated = await Store(container, time).AddEngagementAsync(
            new Dictionary<string, IReadOnlyList<EngagementEvent>> { [post.Id] = [Like(7)] }, CancellationToken.None);

        Assert.Equal(1, updated);
        Assert.Equal(2, calls);
    }
}
