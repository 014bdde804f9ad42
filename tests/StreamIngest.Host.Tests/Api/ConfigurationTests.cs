using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Bad configuration stops the host at start with an error that names the key.</summary>
public sealed class ConfigurationTests
{
    /// <summary>Starts the real host as its own process (as a user would) and returns its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> StartHostAsync(IDictionary<string, string?> settings)
    {
        var dir = TestPaths.NewTempDir();
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Store:DataPath"] = dir,
            ["Feeds:Jetstream:Enabled"] = "false",
            ["StatusIntervalSeconds"] = "0",
        }.Concat(settings))
        {
            psi.ArgumentList.Add($"--{key}={value}");
        }

        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "host did not stop within 60 s: " + await stdout);
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [Theory]
    [InlineData("Feeds:Replay:Speed", "-1", "Feeds:Replay:Speed")]
    [InlineData("Feeds:Replay:Path", "/nonexistent/file.jsonl", "Feeds:Replay:Path")]
    [InlineData("Role", "Ingest", "Role must be 'all'")]
    [InlineData("Search:RecencyWeight", "2", "Search:RecencyWeight")]
    [InlineData("Search:ShortlistStories", "-1", "Search:ShortlistStories")]
    [InlineData("Embedding:MaxTokens", "4", "Embedding:MaxTokens")]
    [InlineData("Embedding:Model", "bert", "Embedding:Model must be")]
    [InlineData("Store:RetentionHours", "-5", "Store:RetentionHours")]
    [InlineData("Store:VectorPrefilterShare", "2", "Store:VectorPrefilterShare")]
    [InlineData("Safety:Policies:violence", "Drop", "Safety:Policies:violence")]
    [InlineData("Transport", "EventHubs", "EventHubs:ConnectionString or EventHubs:FullyQualifiedNamespace must be set")]
    [InlineData("StoreKind", "Cosmos", "Cosmos:Endpoint or Cosmos:ConnectionString must be set")]
    [InlineData("Feeds:Jetstream:Endpoints:0", "http://not-a-websocket", "Feeds:Jetstream:Endpoints: 'http://not-a-websocket' must be a ws:// or wss:// URI")]
    [InlineData("Feeds:Mastodon:Instances:0:Streams:0", "everything", "Feeds:Mastodon:Instances:0:BaseUrl must be an absolute http(s) URL")]
    [InlineData("Auth:DefaultRequestsPerMinute", "0", "Auth:DefaultRequestsPerMinute")]
    [InlineData("Auth:Keys:0:Sha256", "not-a-hash", "Auth:Keys:0:Sha256 must be the key's SHA-256")]
    [InlineData("Chat:TimeoutSeconds", "0", "Chat:TimeoutSeconds")]
    [InlineData("Chat:MaxMessageChars", "0", "Chat:MaxMessageChars")]
    public async Task Start_InvalidSetting_ExitsWithAnErrorNamingTheKey(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("Feeds:Jetstream", StringComparison.Ordinal))
        {
            settings["Feeds:Jetstream:Enabled"] = "true"; // validated before any connection is tried
        }

        var (exitCode, output) = await StartHostAsync(settings);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ProcessRoleOnSqlite_ExitsNamingStoreKind()
    {
        var (exitCode, output) = await StartHostAsync(new Dictionary<string, string?>
        {
            ["Role"] = "Process",
            ["Transport"] = "EventHubs",
            ["EventHubs:ConnectionString"] = "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
            ["EventHubs:CheckpointConnectionString"] = "UseDevelopmentStorage=true",
        });

        Assert.NotEqual(0, exitCode);
        Assert.Contains("StoreKind must be 'Cosmos'", output, StringComparison.Ordinal);
    }
}
