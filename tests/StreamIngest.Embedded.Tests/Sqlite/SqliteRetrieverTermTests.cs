using Microsoft.Extensions.Time.Testing;
using StreamIngest.Embed;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Retrieve;

namespace StreamIngest.Embedded.Tests.Sqlite;

/// <summary>Very common words are left out of keyword queries while rarer ones remain.</summary>
public class SqliteRetrieverTermTests : StoreTestBase
{
    private sealed class NoEmbedder : IEmbedder
    {
        public string Model => "none";

        public int Dimensions => 4;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(_ => new float[] { 1, 0, 0, 0 }).ToArray());
    }

    private async Task<SqliteRetriever> SeedAsync()
    {
        // "river" is in every post, "bridge" in a tenth, "ferry" in three.
        var posts = Enumerable.Range(0, 1200)
            .Select(i => NewPost(i.ToString(System.Globalization.CultureInfo.InvariantCulture), $"river news {(i % 10 == 0 ? "bridge" : "road")} {(i < 3 ? "ferry" : "")}", [1, 0, 0, 0]))
            .ToArray();
        await Store.UpsertAsync(posts, CancellationToken.None);
        return new SqliteRetriever(Db, Index, new NoEmbedder(), new HybridRanker(new RankingOptions(), new FakeTimeProvider(Now)));
    }

    [Fact]
    public async Task SelectiveTerms_CommonTerm_IsLeftOutWhenRarerTermsRemain()
    {
        var retriever = await SeedAsync();
        using var connection = Db.Open();

        Assert.Equal(["ferry"], retriever.SelectiveTerms(connection, ["river", "ferry"]));
        Assert.Equal(["bridge", "ferry"], retriever.SelectiveTerms(connection, ["river", "bridge", "ferry"]).Order());
    }

    [Fact]
    public async Task SelectiveTerms_OnlyCommonTerms_KeepsTheRarest()
    {
        var retriever = await SeedAsync();
        using var connection = Db.Open();

        Assert.Equal(["road"], retriever.SelectiveTerms(connection, ["river", "road"]));
    }

    [Fact]
    public async Task SearchAsync_KeywordWithACommonTerm_StillRanksTheRarePostsFirst()
    {
        var retriever = await SeedAsync();

        var hits = (await retriever.SearchAsync(new SearchQuery { Text = "river ferry", Mode = SearchMode.Keyword, K = 3, CollapseDuplicates = false }, CancellationToken.None)).Hits;

        Assert.Equal(["test:0", "test:1", "test:2"], hits.Select(h => h.Post.Id).Order());
    }
}
