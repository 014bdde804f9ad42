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
            "SELECT TOP @n c.post, VectorDistance(c.embedding, @v) AS similarity FROM c WHERE c.createdAtMs >= @since AND c.createdAtMs <= @until ORDER BY RANK RRF(VectorDistance(c.embedding, @v), FullTextScore(c.text, @t0, @t1))",
            q.QueryText);
        var p = q.GetQueryParameters().ToDictionary(x => x.Name, x => x.Value);
        Assert.Equal(40, p["@n"]);
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
        Assert.Contains("ORDER BY RANK FullTextScore(c.text, ", q.QueryText, StringComparison.Ordinal);
        var p = q.GetQueryParameters().ToDictionary(x => x.Name, x => x.Value);
        Assert.Equal("bsky'--", p["@source"]);
        Assert.Equal("c:TSLA", p["@tag"]);
    }

    [Fact]
    public void BuildSearchQuery_VectorMode_OrdersByDistanceOnly()
    {
        var q = CosmosPostStore.BuildSearchQuery(new SearchQuery { Text = "anything", Mode = SearchMode.Vector }, 40, Vector)!;

        Assert.EndsWith("ORDER BY VectorDistance(c.embedding, @v)", q.QueryText, StringComparison.Ordinal);
        Assert.DoesNotContain("FullTextScore", q.QueryText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bsky:did:plc:abc/3k1", "bsky:did:plc:abc%2F3k1")]
    [InlineData("x:1?2#3\\4%", "x:1%3F2%233%5C4%25")]
    public void EscapeId_CharactersCosmosForbids_AreEscapedReversibly(string postId, string expected)
    {
        Assert.Equal(expected, CosmosPostDocument.EscapeId(postId));
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
