using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Tests.Contracts;

/// <summary>
/// What every <see cref="IPostStore"/> must do, whatever is behind it. The same assertions run against
/// SQLite (always) and Cosmos DB (where an emulator or account is configured).
/// </summary>
public abstract class PostStoreContract
{
    /// <summary>The embedding dimension of stores under test: the real model's (all-MiniLM-L6-v2).</summary>
    protected const int Dimensions = 384;

    /// <summary>A store with no posts, owned by the calling test.</summary>
    protected abstract Task<IPostStore> NewStoreAsync();

    /// <summary>A unit vector along axis <paramref name="axis"/>.</summary>
    protected static float[] Axis(int axis)
    {
        var v = new float[Dimensions];
        v[axis] = 1;
        return v;
    }

    protected static Post NewPost(string id, string text, float[]? embedding = null, string? hash = null) => new()
    {
        Id = Post.MakeId("contract", id),
        Source = "contract",
        NativeId = id,
        CreatedAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        ReceivedAt = DateTimeOffset.UtcNow,
        Text = text,
        Lang = "en",
        Author = new Author("author", "Author", 5, "a1"),
        Metrics = new Engagement(1, 0, 0, 0),
        Entities = new PostEntities(["flood"], ["TSLA"], ["alice"], ["https://example.com/a"]),
        ContentHash = hash ?? "hash-" + id,
        Embedding = embedding ?? Axis(0),
        Provenance = new Provenance("contract", "memory", DateTimeOffset.UnixEpoch, "00"),
    };

    [SkippableFact]
    public async Task Upsert_SamePostTwice_StoresOneCopyWithTheLatestFields()
    {
        var store = await NewStoreAsync();
        var post = NewPost("1/with/slash?and#hash", "first text");

        await store.UpsertAsync([post], CancellationToken.None);
        post.Text = "second text";
        await store.UpsertAsync([post], CancellationToken.None);

        Assert.Equal(1, await store.CountAsync(CancellationToken.None));
        var back = await store.GetAsync(post.Id, CancellationToken.None);
        Assert.Equal("second text", back!.Text);
        Assert.Equal(post.Author, back.Author);
        Assert.Equal(post.Entities.Cashtags, back.Entities.Cashtags);
        Assert.Equal(post.Embedding, back.Embedding);
    }

    [SkippableFact]
    public async Task Delete_RemovesThePostAndIgnoresUnknownIds()
    {
        var store = await NewStoreAsync();
        await store.UpsertAsync([NewPost("1", "a"), NewPost("2", "b")], CancellationToken.None);

        var deleted = await store.DeleteAsync([Post.MakeId("contract", "1"), Post.MakeId("contract", "404")], CancellationToken.None);

        Assert.Equal(1, deleted);
        Assert.Null(await store.GetAsync(Post.MakeId("contract", "1"), CancellationToken.None));
        Assert.NotNull(await store.GetAsync(Post.MakeId("contract", "2"), CancellationToken.None));
    }

    [SkippableFact]
    public async Task AddEngagement_AddsToTheStoredCounts()
    {
        var store = await NewStoreAsync();
        await store.UpsertAsync([NewPost("1", "liked")], CancellationToken.None);

        var updated = await store.AddEngagementAsync(new Dictionary<string, Engagement> { [Post.MakeId("contract", "1")] = new(Likes: 2, Reposts: 1) }, CancellationToken.None);

        Assert.Equal(1, updated);
        Assert.Equal(new Engagement(3, 1, 0, 0), (await store.GetAsync(Post.MakeId("contract", "1"), CancellationToken.None))!.Metrics);
    }

    [SkippableFact]
    public async Task FindByContentHash_ReturnsTheStoredEmbeddingForKnownHashes()
    {
        var store = await NewStoreAsync();
        await store.UpsertAsync([NewPost("1", "same", Axis(1), "h-same")], CancellationToken.None);

        var found = await store.FindByContentHashAsync(["h-same", "h-unknown"], CancellationToken.None);

        var (id, embedding) = Assert.Single(found).Value;
        Assert.Equal(Post.MakeId("contract", "1"), id);
        Assert.Equal(Axis(1), embedding);
    }

    [SkippableFact]
    public async Task AddEngagement_PostStoredWithoutMetrics_StartsCountingFromZero()
    {
        var store = await NewStoreAsync();
        var post = NewPost("jet", "a Jetstream post carries no counts");
        post.Metrics = null;
        await store.UpsertAsync([post], CancellationToken.None);

        var updated = await store.AddEngagementAsync(new Dictionary<string, Engagement> { [post.Id] = new(Likes: 1) }, CancellationToken.None);

        Assert.Equal(1, updated);
        Assert.Equal(1, (await store.GetAsync(post.Id, CancellationToken.None))!.Metrics!.Likes);
    }
}
