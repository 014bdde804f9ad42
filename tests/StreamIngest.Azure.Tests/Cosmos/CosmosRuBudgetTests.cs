using StreamIngest.Azure.Cosmos;
using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>The RU budget in docs/distributed.md is the formula's output at the stated load, and follows the code's cadences.</summary>
public sealed class CosmosRuBudgetTests
{
    /// <summary>The load docs/distributed.md states.</summary>
    public static readonly RuLoad StatedLoad = new(
        PostsPerSecond: 300, EngagementPerSecond: 300, QueriesPerSecond: 20, Watches: 50, WebhookWatches: 10,
        DashboardsOpen: 5, ApiReplicas: 2, ProcessReplicas: 4, ApiKeys: 20);

    private const double WebhookPollSeconds = 2; // Watches:PollSeconds default

    [Fact]
    public void Docs_CarryTheBudgetTheFormulaGives()
    {
        var table = CosmosRuBudget.ToMarkdown(CosmosRuBudget.PerMinute(StatedLoad, new CosmosOptions(), WebhookPollSeconds));
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "distributed.md")).ReplaceLineEndings("\n");

        Assert.True(docs.Contains(table, StringComparison.Ordinal), "docs/distributed.md should carry, verbatim:\n" + table);
    }

    [Fact]
    public void DashboardsCostTheSameWhateverTheWindow_AndTheCountFollowsItsCache()
    {
        var options = new CosmosOptions();
        var lines = CosmosRuBudget.PerMinute(StatedLoad, options, WebhookPollSeconds);
        var slower = CosmosRuBudget.PerMinute(StatedLoad, new CosmosOptions { CountCacheSeconds = 120 }, WebhookPollSeconds);
        double Line(IEnumerable<RuLine> l, string name) => l.Single(x => x.Operation.StartsWith(name, StringComparison.Ordinal)).RuPerMinute;

        // 5 dashboards × 30 polls × 2 open rollups of 100 KB (10 RU each): a bounded set of point reads, no scan.
        Assert.Equal(5 * 30 * 2 * 10, Line(lines, "dashboard poll"));
        Assert.Equal(Line(lines, "post count") / 2, Line(slower, "post count"));
        Assert.True(Line(lines, "post upsert") > Line(lines, "dashboard poll"), "the stream, not the dashboards, dominates");
    }
}
