using Microsoft.Extensions.DependencyInjection;
using StreamIngest.Feeds;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>Which feeds a host runs follows the bound options alone: every feed has <c>Enabled</c> (default on) and runs when on and configured.</summary>
public sealed class FeedSelectionTests
{
    private static async Task<string[]> FeedsAsync(params string[] settings)
    {
        var dir = TestPaths.NewTempDir();
        await using var app = StreamIngestApp.Build(
        [
            "--Urls=http://127.0.0.1:0", $"--Store:DataPath={dir}", "--StatusIntervalSeconds=0", .. settings.Select(s => "--" + s),
        ]);
        return [.. app.Services.GetRequiredService<IReadOnlyList<IFeedSource>>().Select(f => f.Name).Order(StringComparer.Ordinal)];
    }

    [Theory]
    [InlineData(new string[0], new[] { "jetstream" })] // live Jetstream with the demo replay behind it
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false" }, new[] { "replay" })]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false" }, new string[0])]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:X:BearerToken=t", "Feeds:X:Rules:0:Value=flood" }, new[] { "x" })]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:X:BearerToken=t", "Feeds:X:Rules:0:Value=flood", "Feeds:X:Enabled=false" }, new string[0])]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:Mastodon:Instances:0:BaseUrl=https://mastodon.example" }, new[] { "mastodon" })]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:Mastodon:Instances:0:BaseUrl=https://mastodon.example", "Feeds:Mastodon:Enabled=false" }, new string[0])]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:Rss:Feeds:0:Url=https://news.example/rss" }, new[] { "rss" })]
    [InlineData(new[] { "Feeds:Jetstream:Enabled=false", "Feeds:Replay:Enabled=false", "Feeds:Rss:Feeds:0:Url=https://news.example/rss", "Feeds:Rss:Enabled=false" }, new string[0])]
    public async Task Feeds_RunWhenOnAndConfigured(string[] settings, string[] expected)
    {
        Assert.Equal(expected, await FeedsAsync(settings));
    }
}
