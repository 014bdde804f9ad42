using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Host.Auth;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>The host as a process: one per data folder, a refusal as one line and exit code 2, a quick stop with streams open.</summary>
public sealed class HostProcessTests
{
    private static readonly string[] Quiet = ["--StatusIntervalSeconds=0", "--Feeds:Jetstream:Enabled=false", "--Feeds:Replay:Enabled=false"];

    [Fact]
    public async Task BeyondLoopbackWithoutKeys_TheProcessPrintsOneLineAndExits2()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "StreamIngest.Host.dll"), "--urls=http://0.0.0.0:0", $"--Store:DataPath={TestPaths.NewTempDir()}" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in Quiet)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, process.ExitCode);
        var line = Assert.Single(lines);
        Assert.StartsWith("streamingest: not started: The host listens on http://0.0.0.0:0", line, StringComparison.Ordinal);
        Assert.Contains("keys create", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", await stdout + line, StringComparison.Ordinal); // no stack trace anywhere
    }

    [Fact]
    public async Task SecondHostOnTheSameFolder_RefusesBeforeOpeningIt_AndTheFolderIsFreeOnceTheFirstStops()
    {
        var folder = TestPaths.NewTempDir();
        string[] args = ["--urls=http://127.0.0.1:0", $"--Store:DataPath={folder}", .. Quiet];
        var first = StreamIngestApp.Build(args);
        await first.StartAsync();
        var stored = File.GetLastWriteTimeUtc(Path.Combine(folder, new SqliteOptions().FileName));

        var refused = Assert.Throws<HostStartRefusedException>(() => StreamIngestApp.Build(args));

        Assert.Contains(Path.GetFullPath(folder), refused.Message, StringComparison.Ordinal);
        Assert.Contains("Store:DataPath", refused.Message, StringComparison.Ordinal);
        Assert.Equal(stored, File.GetLastWriteTimeUtc(Path.Combine(folder, new SqliteOptions().FileName)));
        await first.StopAsync();
        await first.DisposeAsync();

        var next = StreamIngestApp.Build(args); // the lock went with the first host
        await next.DisposeAsync();
    }

    [Fact]
    public async Task Stop_WithAStreamClientConnected_EndsTheStreamAndStopsWithin5Seconds()
    {
        var app = StreamIngestApp.Build(["--urls=http://127.0.0.1:0", $"--Store:DataPath={TestPaths.NewTempDir()}", .. Quiet]);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = Timeout.InfiniteTimeSpan };
        using var response = await http.GetAsync(new Uri("/v1/stream/posts", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var ended = stream.CopyToAsync(Stream.Null);

        var stopping = Stopwatch.StartNew();
        await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        stopping.Stop();
        await app.DisposeAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopping.Elapsed.TotalSeconds:F1} s with a stream open (the host's timeout is 30 s)");
        await ended.WaitAsync(TimeSpan.FromSeconds(5)); // the client saw its stream end
    }

    [Fact]
    public async Task KeyCreatedWhileAnOpenLoopbackHostRuns_IsRequiredWithoutARestart()
    {
        var folder = TestPaths.NewTempDir();
        await using var host = new StreamIngestHost(folder, null);
        using var anonymous = host.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/v1/feeds", UriKind.Relative))).StatusCode); // open: loopback, no key

        var key = await TestKeys.CreateAsync(folder, "late", [Scopes.Search], 100); // as 'keys create' does beside a running host

        await Eventually.UntilAsync(
            async () => (await anonymous.GetAsync(new Uri("/v1/feeds", UriKind.Relative))).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(30),
            "the new key to be required");
        using var withKey = host.CreateClient();
        withKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await withKey.GetAsync(new Uri("/v1/feeds", UriKind.Relative))).StatusCode);
    }
}
