using StreamIngest.Azure.Cosmos;
using StreamIngest.Retrieve;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>The SQL the Cosmos store sends: ranking per mode, filters in WHERE, every value a parameter.</summary>
public class CosmosQueryTests
{
    private static readonly float[] Vector = [0.1f, 0.2f, 0.3f, 0.4f];

    [Fact]
    public void BuildSearchQuery_Hybrid_RanksWithRrfOfVectorDistanceAndFullTextScore()
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "flooding downtown", Since = DateTimeOffset.UnixEpoch.AddDays(1) }, 40, Vector)!;

        Assert.Equal(
            "SELECT TOP 40 c.post, VectorDistance(c.embedding, @v) AS similarity FROM c WHERE IS_DEFINED(c.postId) AND c.createdAtMs >= @since AND c.createdAtMs <= @until ORDER BY RANK RRF(VectorDistance(c.embedding, @v), FullTextScore(c.text, @t0, @t1))",
            q.QueryText);
        var p = q.GetQueryParameters().ToDictionary(x => x.Name, x => x.Value);
        Assert.False(p.ContainsKey("@n")); // ranked queries need a literal row limit
        Assert.Equal(86_400_000L, p["@since"]);
        Assert.Equal("flooding", p["@t0"]);
        Assert.Equal("downtown", p["@t1"]);
        Assert.Same(Vector, p["@v"]);
    }

    [Fact]
    public void BuildSearchQuery_FiltersAndHostileText_GoInAsParametersNeverIntoTheSql()
    {
        const string hostile = "x') OR 1=1 -- \"; DROP";
        var q = CosmosPostStore.BuildSearchQuery(
            new SearchQuery { Text = hostile, Source = "bsky'--", Lang = "en", Entity = EntityFilter.TryParse("$tsla"), Mode = SearchMode.Keyword }, 40, null)!;

        Assert.DoesNotContain("OR 1=1", q.QueryText, StringComparison.Ordinal);
        Assert.DoesNotContain("bsky", q.QueryText, StringComparison.Ordinal);
        Assert.Contains("c.source = @source AND c.lang = @lang AND ARRAY_CONTAINS(c.tags, @tag)", q.QueryText, StringComparison.Ordinal);
        Assert.StartsWith("SELECT TOP 40 c.post FROM c", q.QueryText, StringComparison.Ordinal);
        Assert.Contains("ORDER BY RANK FullTextScore(c.text, ", q.QueryText, StringComparison.Ordinal);
        var p = q.GetQueryParameters().ToDictionary(x => x.Name, x => x.Value);
        Assert.Equal("bsky'--", p["@source"]);
        Assert.Equal("c:TSLA", p["@tag"]);
    }

    [Theory]
    [InlineData(SearchMode.Hybrid)]
    [InlineData(SearchMode.Keyword)]
    [InlineData(SearchMode.Vector)]
    public void BuildSearchQuery_EveryMode_ReadsPostsOnly(SearchMode mode)
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "bridge flooding", Mode = mode }, 10, Vector)!;

        Assert.Contains("WHERE IS_DEFINED(c.postId) AND ", q.QueryText, StringComparison.Ordinal); // watches, events, keys share the container
    }

    [Fact]
    public void BuildSearchQuery_VectorMode_OrdersByDistanceOnly()
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "anything", Mode = SearchMode.Vector }, 40, Vector)!;

        Assert.EndsWith("ORDER BY VectorDistance(c.embedding, @v)", q.QueryText, StringComparison.Ordinal);
        Assert.DoesNotContain("FullTextScore", q.QueryText, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildSearchQuery_KeywordMode_FiltersToPostsWithAnyTermAndRanksByBm25()
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "bridge flooding", Mode = SearchMode.Keyword }, 25, null)!;

        Assert.Equal(
            "SELECT TOP 25 c.post FROM c WHERE IS_DEFINED(c.postId) AND c.createdAtMs >= @since AND c.createdAtMs <= @until AND FullTextContainsAny(c.text, @t0, @t1) ORDER BY RANK FullTextScore(c.text, @t0, @t1)",
            q.QueryText);
    }

    [Fact]
    public void BuildSearchQuery_HybridMode_DoesNotRequireTheTerms()
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "bridge flooding" }, 25, Vector)!;

        Assert.DoesNotContain("FullTextContains", q.QueryText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bsky:did:plc:abc/3k1")]
    [InlineData("x:1?2#3\\4%25")]
    [InlineData("mastodon:mastodon.social/109876")]
    public void DocumentId_NeedsNoEscapingAndIsStable(string postId)
    {
        var id = CosmosPostDocument.DocumentId(postId);

        Assert.Matches("^[A-Za-z0-9_-]{43}$", id);
        Assert.Equal(id, CosmosPostDocument.DocumentId(postId));
        Assert.NotEqual(id, CosmosPostDocument.DocumentId(postId + "x"));
    }

    [Fact]
    public void PartitionKeyFor_SpreadsOneSourceOverBucketsAndIsStable()
    {
        var keys = Enumerable.Range(0, 2000).Select(i => CosmosPostDocument.PartitionKeyFor($"bsky:did:plc:a/{i}", 32)).ToList();

        Assert.Equal(32, keys.Distinct().Count());
        Assert.All(keys, k => Assert.StartsWith("bsky-", k, StringComparison.Ordinal));
        Assert.Equal(CosmosPostDocument.PartitionKeyFor("x:1", 32), CosmosPostDocument.PartitionKeyFor("x:1", 32));
    }
}
