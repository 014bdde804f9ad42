using Microsoft.Extensions.Time.Testing;
using StreamIngest.Embed;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Embedded.Tests.Sqlite;

[Collection(EmbedderCollection.Name)]
public class SqliteRetrieverTests(EmbedderFixture fixture) : StoreTestBase
{
    protected override int Dims => 384;

    private SqliteRetriever Retriever() =>
        new(Db, Index, fixture.Embedder, new HybridRanker(new RankingOptions(), new FakeTimeProvider(Now)));

    private async Task SeedAsync(params Post[] posts)
    {
        var vectors = fixture.Embedder.Embed([.. posts.Select(p => p.Text)]);
        for (var i = 0; i < posts.Length; i++)
        {
            posts[i].Embedding = vectors[i];
        }

        await Store.UpsertAsync(posts, CancellationToken.None);
    }

    private async Task<string[]> IdsAsync(SearchQuery query) =>
        [.. (await Retriever().SearchAsync(query, CancellationToken.None)).Hits.Select(h => h.Post.Id)];

    [Fact]
    public async Task SearchAsync_VectorMode_FindsParaphraseWithoutSharedWords()
    {
        await SeedAsync(
            NewPost("flood", "The river burst its banks and the city centre is under water"),
            NewPost("bread", "Baked a sourdough loaf with a long cold proof"),
            NewPost("football", "Northbridge won the cup final after extra time"));

        var vector = await IdsAsync(new SearchQuery { Text = "inundation downtown", Mode = SearchMode.Vector, K = 1 });
        var keyword = await IdsAsync(new SearchQuery { Text = "inundation downtown", Mode = SearchMode.Keyword, K = 1 });

        Assert.Equal(["test:flood"], vector);
        Assert.Empty(keyword);
    }

    [Theory]
    [InlineData(SearchMode.Hybrid)]
    [InlineData(SearchMode.Vector)]
    [InlineData(SearchMode.Keyword)]
    public async Task SearchAsync_Hits_CarryTheWholePost(SearchMode mode)
    {
        // Candidates are ranked from a few fields of their documents; what a search returns must be the whole post.
        var post = NewPost("flood", "Flooding on #MainSt: the river burst its banks, see https://example.org/flood");
        post.Author = new Author("riverwatch", "River Watch", 1200);
        post.Metrics = new Engagement(Likes: 7, Reposts: 2);
        post.Lang = "en";
        await SeedAsync(post, NewPost("bread", "Baked a sourdough loaf with a long cold proof"));

        var hit = Assert.Single((await Retriever().SearchAsync(new SearchQuery { Text = "flooding river", Mode = mode, K = 1 }, CancellationToken.None)).Hits);

        Assert.Equal(post.Text, hit.Post.Text);
        Assert.Equal(post.Author, hit.Post.Author);
        Assert.Equal(post.Metrics, hit.Post.Metrics);
        Assert.Equal("en", hit.Post.Lang);
        Assert.Equal(post.Entities.Hashtags, hit.Post.Entities.Hashtags);
        Assert.Equal(post.Entities.Urls, hit.Post.Entities.Urls);
        Assert.Equal(post.Provenance, hit.Post.Provenance);
    }

    [Fact]
    public async Task SearchAsync_HybridListsAtOnceOrInTurn_RankTheSame()
    {
        await SeedAsync(
            NewPost("flood", "The river burst its banks and the city centre is under water"),
            NewPost("flood2", "Flood warning for the river valley tonight, move cars to high ground"),
            NewPost("bridge", "The old bridge over the river is closed after storm damage"),
            NewPost("bread", "Baked a sourdough loaf with a long cold proof"),
            NewPost("football", "Northbridge won the cup final after extra time"));
        var ranker = new HybridRanker(new RankingOptions(), new FakeTimeProvider(Now));
        var inTurn = new SqliteRetriever(Db, Index, fixture.Embedder, ranker);
        var atOnce = new SqliteRetriever(Db, Index, fixture.Embedder, ranker) { ConcurrentLists = true };
        var query = new SearchQuery { Text = "is the river flooding the bridge", Mode = SearchMode.Hybrid, K = 4 };

        var a = (await inTurn.SearchAsync(query, CancellationToken.None)).Hits;
        var b = (await atOnce.SearchAsync(query, CancellationToken.None)).Hits;

        Assert.False(inTurn.ConcurrentLists); // one after the other by default
        Assert.Equal(4, a.Count);
        Assert.Equal(a.Select(h => (h.Post.Id, h.Score.Final)), b.Select(h => (h.Post.Id, h.Score.Final)));
    }

    [Theory]
    [InlineData(SearchMode.Hybrid, false, "embed,vector,keyword,read,rank")]
    [InlineData(SearchMode.Hybrid, true, "embed,keyword,vector,read,rank")]
    [InlineData(SearchMode.Vector, false, "embed,vector,read,rank")]
    [InlineData(SearchMode.Keyword, false, "keyword,read,rank")]
    public async Task SearchAsync_ReportsWhereItsTimeWent(SearchMode mode, bool listsAtOnce, string stages)
    {
        await SeedAsync(
            NewPost("flood", "The river burst its banks and the city centre is under water"),
            NewPost("bread", "Baked a sourdough loaf with a long cold proof"));
        var clock = new FakeTimeProvider(Now);
        // The question takes the model 7 ms of the search's clock, and nothing else moves it.
        var embedder = new ClockedEmbedder(fixture.Embedder, clock, TimeSpan.FromMilliseconds(7));
        var retriever = new SqliteRetriever(Db, Index, embedder, new HybridRanker(new RankingOptions(), clock)) { ConcurrentLists = listsAtOnce };

        var result = await retriever.SearchAsync(new SearchQuery { Text = "river flooding", Mode = mode, K = 2 }, CancellationToken.None);

        Assert.NotNull(result.StageMs);
        Assert.Equal(stages, string.Join(',', result.StageMs.Keys));
        Assert.Equal(mode == SearchMode.Keyword ? 0 : 7, result.StageMs.GetValueOrDefault(SearchStages.Embed), 6);
        Assert.All(result.StageMs.Where(s => s.Key != SearchStages.Embed), s => Assert.Equal(0, s.Value));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SearchAsync_ReadingOnlyTheShortlist_RanksAsReadingEveryCandidate(bool reopened)
    {
        // Cosines to the question are set: "liked" is only fifth by cosine but first once its 100k interactions count
        // (+10%), and "liked-copy" is the same story (counted as its duplicate). With k = 1 and one story to spare, the
        // shortlist holds two stories: it must rank by engagement and keep a story's rows together, or the hit differs.
        var posts = new (string Id, double Cosine, string? Story)[]
        {
            ("best", 0.90, null), ("second", 0.89, null), ("third", 0.88, null), ("fourth", 0.87, null), ("liked", 0.85, "story-liked"), ("liked-copy", 0.50, "story-liked"),
        };
        var seeded = posts.Select((p, i) =>
        {
            var post = NewPost(p.Id, $"post {p.Id}", embedding: Toward(p.Cosine, i + 1));
            post.ClusterId = p.Story;
            return post;
        }).ToArray();
        await Store.UpsertAsync(seeded, CancellationToken.None);
        await Store.AddEngagementAsync(new Dictionary<string, Engagement> { ["test:liked"] = new(Likes: 100_000) }, CancellationToken.None);
        if (reopened)
        {
            Reopen(); // the index rebuilt from the file keeps engagement and story
        }

        var embedder = new FixedQueryEmbedder(Toward(1, 0));
        var ranker = new HybridRanker(new RankingOptions(), new FakeTimeProvider(Now));
        var query = new SearchQuery { Text = "q", Mode = SearchMode.Vector, K = 1, CollapseDuplicates = true };

        var all = await new SqliteRetriever(Db, Index, embedder, ranker) { ShortlistStories = 0 }.SearchAsync(query, CancellationToken.None);
        var shortlisted = await new SqliteRetriever(Db, Index, embedder, ranker) { ShortlistStories = 1 }.SearchAsync(query, CancellationToken.None);

        var hit = Assert.Single(shortlisted.Hits);
        Assert.Equal(("test:liked", 1), (hit.Post.Id, hit.Duplicates));
        Assert.Equal(all.Hits.Select(h => (h.Post.Id, h.Score.Final, h.Duplicates)), shortlisted.Hits.Select(h => (h.Post.Id, h.Score.Final, h.Duplicates)));
        Assert.Equal(all.CandidatesConsidered, shortlisted.CandidatesConsidered);
    }

    /// <summary>A unit vector at <paramref name="cosine"/> to the first axis, the rest along axis <paramref name="axis"/>.</summary>
    private static float[] Toward(double cosine, int axis)
    {
        var v = new float[384];
        v[0] = (float)cosine;
        v[axis] += (float)Math.Sqrt(1 - (cosine * cosine));
        return v;
    }

    /// <summary>Every question is the same vector.</summary>
    private sealed class FixedQueryEmbedder(float[] vector) : IEmbedder
    {
        public string Model => "fixed";

        public int Dimensions => vector.Length;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) => Task.FromResult(texts.Select(_ => vector).ToArray());
    }

    /// <summary>Moves <paramref name="clock"/> by <paramref name="takes"/> for each question it embeds.</summary>
    private sealed class ClockedEmbedder(IEmbedder inner, FakeTimeProvider clock, TimeSpan takes) : IEmbedder
    {
        public string Model => inner.Model;

        public int Dimensions => inner.Dimensions;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) => inner.EmbedAsync(texts, cancellationToken);

        public async Task<float[]> EmbedQueryAsync(string query, CancellationToken cancellationToken)
        {
            var vector = await inner.EmbedQueryAsync(query, cancellationToken);
            clock.Advance(takes);
            return vector;
        }
    }

    [Fact]
    public async Task SearchAsync_HybridOverPostsWithoutVectors_FallsBackToKeywords()
    {
        // Stored without embeddings (an embedder that failed, or vectors of another model's size): the keyword list
        // alone must still answer a hybrid search.
        await Store.UpsertAsync([NewPost("1", "Flooding reported on Main St"), NewPost("2", "Sunny day at the beach")], CancellationToken.None);

        var ids = await IdsAsync(new SearchQuery { Text = "flooding", Mode = SearchMode.Hybrid });

        Assert.Equal(["test:1"], ids);
    }

    [Fact]
    public async Task SearchAsync_KeywordMode_RanksByBm25WithStemming()
    {
        await SeedAsync(
            NewPost("1", "Flooding reported on Main St"),
            NewPost("2", "Floods and flooding: main street and bridge flooded"),
            NewPost("3", "Sunny day at the beach"));

        var ids = await IdsAsync(new SearchQuery { Text = "flood", Mode = SearchMode.Keyword });

        Assert.Equal(["test:2", "test:1"], ids);
    }

    [Fact]
    public async Task SearchAsync_HybridWithFilters_ReturnsOnlyPostsInsideEveryFilter()
    {
        await SeedAsync(
            NewPost("in", "River flooding downtown #flood", age: TimeSpan.FromMinutes(10)),
            NewPost("old", "River flooding downtown #flood again", age: TimeSpan.FromHours(5)),
            NewPost("de", "River flooding downtown #flood auf Deutsch", lang: "de"),
            NewPost("other", "River flooding downtown #flood elsewhere", source: "bsky"),
            NewPost("notag", "River flooding downtown without the tag"));

        var ids = await IdsAsync(new SearchQuery
        {
            Text = "river flooding",
            Since = Now - TimeSpan.FromHours(1),
            Source = "test",
            Lang = "en",
            Entity = EntityFilter.TryParse("#flood"),
        });

        Assert.Equal(["test:in"], ids);
    }

    [Theory]
    [InlineData("\"unbalanced", 0)]                 // an open quote: the word "unbalanced", which no post has
    [InlineData("NEAR(a b) OR * AND -x ^y", 1)]      // NEAR is a word here, and the post has it
    [InlineData("text:flood {col} : ( )", 1)]         // a column filter in FTS5 syntax: only the word "flood" counts
    [InlineData("🌊🌊", 0)]                            // no word at all: no keyword query
    public async Task SearchAsync_Fts5SyntaxInQuery_IsTreatedAsWordsNotOperators(string text, int expectedHits)
    {
        await SeedAsync(NewPost("1", "flood near the bridge"));

        var result = await Retriever().SearchAsync(new SearchQuery { Text = text, Mode = SearchMode.Keyword }, CancellationToken.None);

        Assert.Equal(expectedHits, result.Hits.Count);
    }

    [Fact]
    public async Task SearchAsync_ExactCopies_CollapseIntoOneHitWithACount()
    {
        await SeedAsync(NewPost("1", "Bridge closed on Main St"), NewPost("2", "RT @city: Bridge closed on Main St"), NewPost("3", "bridge CLOSED on main st"));

        var hits = (await Retriever().SearchAsync(new SearchQuery { Text = "bridge closed" }, CancellationToken.None)).Hits;

        var hit = Assert.Single(hits);
        Assert.Equal(2, hit.Duplicates);
    }

    [Fact]
    public async Task SearchAsync_ScoreParts_AreReported()
    {
        await SeedAsync(NewPost("1", "Transit strike shuts the subway"));

        var hit = Assert.Single((await Retriever().SearchAsync(new SearchQuery { Text = "subway strike" }, CancellationToken.None)).Hits);

        Assert.NotNull(hit.Score.Vector);
        Assert.NotNull(hit.Score.Keyword);
        Assert.Equal(1, hit.Score.Recency);
        Assert.True(hit.Score.Final > 0);
    }
}
