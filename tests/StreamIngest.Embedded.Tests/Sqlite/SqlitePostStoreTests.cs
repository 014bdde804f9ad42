using StreamIngest.Embedded.Sqlite;
using Microsoft.Data.Sqlite;
using StreamIngest.Model;

namespace StreamIngest.Embedded.Tests.Sqlite;

public class SqlitePostStoreTests : StoreTestBase
{
    private long Scalar(string sql)
    {
        using var c = Db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task UpsertAsync_SamePostTwice_KeepsOneRowOneFtsEntryOneVector()
    {
        var post = NewPost("1", "Flooding on #MainSt with $TSLA news", [1, 0, 0, 0]);

        await Store.UpsertAsync([post], CancellationToken.None);
        post.Metrics = new Engagement(Likes: 5);
        await Store.UpsertAsync([post], CancellationToken.None);

        Assert.Equal(1, await Store.CountAsync(CancellationToken.None));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH 'flooding'"));
        Assert.Equal(2, Scalar("SELECT COUNT(*) FROM post_entities"));
        Assert.Equal(1, Index.Count);
        Assert.Equal(5, (await Store.GetAsync("test:1", CancellationToken.None))!.Metrics!.Likes);
    }

    [Fact]
    public async Task UpsertAsync_EditedText_ReplacesItInTheKeywordIndex()
    {
        await Store.UpsertAsync([NewPost("1", "original wording", [1, 0, 0, 0])], CancellationToken.None);

        await Store.UpsertAsync([NewPost("1", "edited wording", [1, 0, 0, 0])], CancellationToken.None);

        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH 'original'"));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH 'edited'"));
    }

    [Fact]
    public async Task GetAsync_RoundTripsEveryField()
    {
        var post = NewPost("1", "Hello @Bob see https://example.com/?utm_source=x", [0.5f, 0.5f, 0.5f, 0.5f]);
        post.Relations = new PostRelations("test:0", null, "test:9");
        post.Metrics = new Engagement(1, 2, 3, 4);
        post.Author = new Author("bob", "Bob B", 77, "u1");

        await Store.UpsertAsync([post], CancellationToken.None);
        var back = await Store.GetAsync("test:1", CancellationToken.None);

        Assert.NotNull(back);
        Assert.Equal(post.Text, back.Text);
        Assert.Equal(post.CreatedAt, back.CreatedAt);
        Assert.Equal(post.Author, back.Author);
        Assert.Equal(post.Relations, back.Relations);
        Assert.Equal(post.Metrics, back.Metrics);
        Assert.Equal(post.Entities.Mentions, back.Entities.Mentions);
        Assert.Equal(post.Entities.Urls, back.Entities.Urls);
        Assert.Equal(post.Provenance, back.Provenance);
        Assert.Equal(post.ContentHash, back.ContentHash);
        Assert.Equal(post.Embedding, back.Embedding);
    }

    [Theory]
    [InlineData("Überschwemmung in Köln 🚨🌊 — Straßen gesperrt")]
    [InlineData("東京で地震。震度５強 #地震")]
    [InlineData("إغلاق الطرق بسبب الفيضانات")]
    public async Task GetAsync_NonAsciiText_ComesBackUnchanged(string text)
    {
        // Documents are parsed from the UTF-8 bytes SQLite stores: every script and emoji must survive the trip.
        await Store.UpsertAsync([NewPost("1", text, [1, 0, 0, 0])], CancellationToken.None);

        var back = await Store.GetAsync("test:1", CancellationToken.None);

        Assert.Equal(text, back!.Text);
    }

    [Fact]
    public async Task DeleteAsync_RemovesRowEntitiesKeywordsAndVector()
    {
        await Store.UpsertAsync([NewPost("1", "gone soon #bye", [1, 0, 0, 0]), NewPost("2", "stays", [0, 1, 0, 0])], CancellationToken.None);

        var deleted = await Store.DeleteAsync(["test:1", "test:missing"], CancellationToken.None);

        Assert.Equal(1, deleted);
        Assert.Null(await Store.GetAsync("test:1", CancellationToken.None));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH 'gone'"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM post_entities"));
        Assert.Equal(1, Index.Count);
    }

    [Fact]
    public async Task AddEngagementAsync_AddsToStoredCountsAndSkipsUnknownPosts()
    {
        var post = NewPost("1", "liked post", [1, 0, 0, 0]);
        post.Metrics = new Engagement(Likes: 2, Replies: 1);
        await Store.UpsertAsync([post], CancellationToken.None);

        var updated = await Store.AddEngagementAsync(
            new Dictionary<string, Engagement> { ["test:1"] = new(Likes: 3, Reposts: 1), ["test:missing"] = new(Likes: 1) }, CancellationToken.None);

        Assert.Equal(1, updated);
        Assert.Equal(new Engagement(5, 1, 1, 0), (await Store.GetAsync("test:1", CancellationToken.None))!.Metrics);
        Assert.Equal(7, Scalar("SELECT engagement FROM posts WHERE id = 'test:1'"));
    }

    [Fact]
    public async Task PurgeAsync_RemovesOnlyPostsOlderThanTheCutoff()
    {
        await Store.UpsertAsync(
            [NewPost("old", "old news", [1, 0, 0, 0], TimeSpan.FromHours(50)), NewPost("new", "new news", [0, 1, 0, 0], TimeSpan.FromHours(1))],
            CancellationToken.None);

        var purged = await Store.PurgeAsync(Now - TimeSpan.FromHours(48), CancellationToken.None);

        Assert.Equal(1, purged);
        Assert.NotNull(await Store.GetAsync("test:new", CancellationToken.None));
        Assert.Equal(1, Index.Count);
    }

    [Fact]
    public async Task FindByContentHashAsync_ReturnsTheFirstStoredOriginal()
    {
        var original = NewPost("1", "same words", [1, 0, 0, 0]);
        var copy = NewPost("2", "SAME   words", [1, 0, 0, 0]);
        await Store.UpsertAsync([original, copy], CancellationToken.None);

        var found = await Store.FindByContentHashAsync([original.ContentHash!, "nope"], CancellationToken.None);

        var (id, embedding) = Assert.Single(found).Value;
        Assert.Equal("test:1", id);
        Assert.Equal([1f, 0, 0, 0], embedding);
    }

    [Fact]
    public async Task LoadIndex_WithAnotherEmbeddingModel_EmbedsEveryStoredPostAgainOnce()
    {
        var first = new AxisEmbedder("model-a", axis: 0);
        await SqlitePostStore.LoadIndexAsync(Db, first); // a new file records the model that will write it
        await Store.UpsertAsync([NewPost("1", "a", [1, 0, 0, 0]), NewPost("2", "b", [1, 0, 0, 0])], CancellationToken.None);
        Reopen();

        var second = new AxisEmbedder("model-b", axis: 3);
        var index = await SqlitePostStore.LoadIndexAsync(Db, second);
        var again = await SqlitePostStore.LoadIndexAsync(Db, second);

        Assert.Equal(2, second.Embedded); // both posts once; the second start found the file already on model-b
        Assert.Equal(2, index.Count);
        var found = await new SqlitePostStore(Db, again).FindByContentHashAsync([NewPost("1", "a").ContentHash!], CancellationToken.None);
        Assert.Equal([0f, 0, 0, 1], Assert.Single(found).Value.Embedding);
        Assert.Equal(0, first.Embedded);
    }

    /// <summary>An embedder whose every vector is one axis: which model wrote a stored vector is plain to see.</summary>
    private sealed class AxisEmbedder(string model, int axis) : StreamIngest.Embed.IEmbedder
    {
        public int Embedded { get; private set; }

        public string Model => model;

        public int Dimensions => 4;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
        {
            Embedded += texts.Count;
            return Task.FromResult(texts.Select(_ =>
            {
                var v = new float[4];
                v[axis] = 1;
                return v;
            }).ToArray());
        }
    }

    [Fact]
    public async Task LoadIndex_AfterReopen_RestoresEveryStoredVector()
    {
        await Store.UpsertAsync([NewPost("1", "a", [1, 0, 0, 0]), NewPost("2", "b", [0, 1, 0, 0]), NewPost("3", "c", [0, 0, 1, 0])], CancellationToken.None);
        await Store.DeleteAsync(["test:2"], CancellationToken.None);

        Reopen();

        Assert.Equal(2, Index.Count);
        Assert.Equal("test:3", Index.Search([0, 0, 1, 0], 1, new StreamIngest.Embedded.Vectors.VectorFilter(long.MinValue + 1, long.MaxValue))[0].Key);
    }

    [Fact]
    public void Database_IsInWalMode()
    {
        using var c = Db.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
    }

    [Fact]
    public async Task DeadLettersAndCursors_PersistInTheSameFile()
    {
        var dead = new StreamIngest.Embedded.Sqlite.SqliteDeadLetterStore(Db);
        var cursors = new StreamIngest.Embedded.Sqlite.SqliteCursorStore(Db, TimeProvider.System);
        await dead.WriteAsync(DeadLetter.Create("replay", "malformed JSON", new string('x', 20_000), "f:3", Now), CancellationToken.None);
        await cursors.SetAsync("bsky", "1725911162329308", CancellationToken.None);
        await cursors.SetAsync("bsky", "1725911162329999", CancellationToken.None);

        Reopen();

        var letter = Assert.Single(await new StreamIngest.Embedded.Sqlite.SqliteDeadLetterStore(Db).ListAsync(10, CancellationToken.None));
        Assert.Equal(("replay", "malformed JSON", "f:3", DeadLetter.MaxRawChars), (letter.Source, letter.Reason, letter.Location, letter.Raw.Length));
        Assert.Equal("1725911162329999", await new StreamIngest.Embedded.Sqlite.SqliteCursorStore(Db, TimeProvider.System).GetAsync("bsky", CancellationToken.None));
    }
}
