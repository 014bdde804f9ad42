using Microsoft.Extensions.Options;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Bad configuration stops the host at start with an error that names the key.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public void Start_ProcessRoleOnSqlite_FailsNamingStoreKind()
    {
        var dir = TestPaths.NewTempDir();
        using var host = new StreamIngestHost(dir, null, new Dictionary<string, string?> { ["Role"] = "Process", ["Transport"] = "EventHubs", ["EventHubs:ConnectionString"] = "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true", ["EventHubs:CheckpointConnectionString"] = "UseDevelopmentStorage=true" });

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        Assert.Contains(Flatten(ex).OfType<OptionsValidationException>().SelectMany(v => v.Failures), f => f.Contains("StoreKind must be 'Cosmos'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Feeds:Replay:Speed", "-1", "Feeds:Replay:Speed")]
    [InlineData("Feeds:Replay:Path", "/nonexistent/file.jsonl", "Feeds:Replay:Path")]
    [InlineData("Role", "Ingest", "Role must be 'all'")]
    [InlineData("Search:RecencyWeight", "2", "Search:RecencyWeight")]
    [InlineData("Embedding:MaxTokens", "4", "Embedding:MaxTokens")]
    [InlineData("Store:RetentionHours", "-5", "Store:RetentionHours")]
    [InlineData("Transport", "EventHubs", "EventHubs:ConnectionString or EventHubs:FullyQualifiedNamespace must be set")]
    [InlineData("StoreKind", "Cosmos", "Cosmos:Endpoint or Cosmos:ConnectionString must be set")]
    [InlineData("Feeds:Jetstream:Endpoints:0", "http://not-a-websocket", "Feeds:Jetstream:Endpoints: 'http://not-a-websocket' must be a ws:// or wss:// URI")]
    [InlineData("Feeds:Mastodon:Instances:0:Streams:0", "everything", "Feeds:Mastodon:Instances:0:BaseUrl must be an absolute http(s) URL")]
    public void Start_InvalidSetting_FailsNamingTheKey(string key, string value, string expected)
    {
        var dir = TestPaths.NewTempDir();
        var replay = ReplayFile.Write(dir, [ReplayFile.Post("1", "x", 1)]);
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("Feeds:Jetstream", StringComparison.Ordinal))
        {
            settings["Feeds:Jetstream:Enabled"] = "true"; // validated even before any connection is tried
        }

        using var host = new StreamIngestHost(dir, replay, settings);

        var ex = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        var validation = Flatten(ex).OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(validation is not null, $"expected an options validation error, got {ex}");
        Assert.Contains(validation.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    private static IEnumerable<Exception> Flatten(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            yield return ex;
            if (ex is AggregateException agg)
            {
                foreach (var inner in agg.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
