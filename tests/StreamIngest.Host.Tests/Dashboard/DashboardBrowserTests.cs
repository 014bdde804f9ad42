using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Host.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Chromium driven by Playwright) against the real host, started as its own
/// process on 127.0.0.1 as an operator would start it. Skips with the reason when no Chromium is installed
/// (.ci/run installs Debian's <c>chromium</c>). A screenshot is saved under TestResults/dashboard/.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private static readonly string? Chromium = new[]
    {
        Environment.GetEnvironmentVariable("STREAMINGEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
    }.FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    private const string NoBrowser = "no Chromium found (set STREAMINGEST_CHROMIUM, or apt-get install chromium as .ci/run does)";

    public static string ArtifactsDir
    {
        get
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>The host as a process on a free loopback port, ready when /health/ready says so.</summary>
    private sealed class HostProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private HostProcess(Process process, string url)
        {
            _process = process;
            Url = url;
        }

        public string Url { get; }

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static async Task<HostProcess> StartAsync(IDictionary<string, string?> settings)
        {
            var dir = TestPaths.NewTempDir();
            var url = $"http://127.0.0.1:{FreePort()}";
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
            foreach (var (key, value) in new Dictionary<string, string?> { ["Urls"] = url, ["Store:DataPath"] = dir, ["StatusIntervalSeconds"] = "0" }.Concat(settings))
            {
                psi.ArgumentList.Add($"--{key}={value}");
            }

            var host = new HostProcess(Process.Start(psi)!, url);
            host._process.OutputDataReceived += (_, e) => host.Append(e.Data);
            host._process.ErrorDataReceived += (_, e) => host.Append(e.Data);
            host._process.BeginOutputReadLine();
            host._process.BeginErrorReadLine();
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    if ((await http.GetAsync(url + "/health/ready")).IsSuccessStatusCode)
                    {
                        return host;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                if (host._process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException("host did not become ready: " + host.Log);
                }

                await Task.Delay(100);
            }
        }

        private void Append(string? line)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    private static async Task<(IPlaywright Playwright, IBrowser Browser, IPage Page, List<string> ConsoleErrors)> OpenAsync(string url)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                lock (errors)
                {
                    errors.Add($"{m.Text} ({m.Location})");
                }
            }
        };
        page.PageError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e);
            }
        };
        await page.GotoAsync(url);
        return (playwright, browser, page, errors);
    }

    [SkippableFact]
    public async Task Dashboard_OnTheDemoReplay_NumbersMoveSearchAndGroundWorkAndNothingLogsAnError()
    {
        Skip.If(Chromium is null, NoBrowser);
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Feeds:Jetstream:Enabled"] = "false",
            ["Feeds:Replay:Speed"] = "100", // the demo's three hours in about two minutes
        });
        var (playwright, browser, page, errors) = await OpenAsync(host.Url);
        try
        {
            var stored = page.Locator("#stat-stored");
            await Assertions.Expect(stored).Not.ToHaveTextAsync("–", new() { Timeout = 30_000 });
            var first = await stored.TextContentAsync();
            await Assertions.Expect(stored).Not.ToHaveTextAsync(first!, new() { Timeout = 30_000 }); // it moves while the replay runs
            await Assertions.Expect(page.Locator("#chart-ingest canvas")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#chart-split canvas")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#stat-split")).ToContainTextAsync(" %"); // the cores' split between ingest and queries
            await Assertions.Expect(page.Locator("#tail li").First).ToBeVisibleAsync(new() { Timeout = 30_000 }); // the live tail (SSE)
            await Assertions.Expect(page.Locator("#bursts li").First).ToBeVisibleAsync(new() { Timeout = 30_000 }); // the demo's stories burst

            await page.FillAsync("#q", "flooding downtown");
            await page.ClickAsync("button[type=submit]");
            await Assertions.Expect(page.Locator("#results li.result").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#results li.result .scores").First).ToContainTextAsync("final");
            await page.ClickAsync("#ground");
            await Assertions.Expect(page.Locator("#citations li").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#ground-prompt")).ToContainTextAsync("<<<POST [1]>>>");

            var screenshot = Path.Combine(ArtifactsDir, "dashboard.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            await page.SetViewportSizeAsync(390, 844);
            var updated = await page.Locator("#updated").TextContentAsync();
            await Assertions.Expect(page.Locator("#updated")).Not.ToHaveTextAsync(updated!, new() { Timeout = 10_000 }); // one more poll at phone size
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, "dashboard-phone.png") });
            var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
            output.WriteLine($"stored went {first} → {await stored.TextContentAsync()}; screenshot {screenshot}");

            Assert.False(overflow, "the page fits a phone's width");
            Assert.Empty(errors);
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }

    [SkippableFact]
    public async Task ApiReference_LoadsEverythingFromTheHost()
    {
        Skip.If(Chromium is null, NoBrowser);
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string?> { ["Feeds:Jetstream:Enabled"] = "false" });
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        try
        {
            var page = await browser.NewPageAsync();
            var elsewhere = new List<string>();
            page.Request += (_, request) =>
            {
                if (Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && !uri.IsLoopback)
                {
                    lock (elsewhere)
                    {
                        elsewhere.Add(request.Url);
                    }
                }
            };

            await page.GotoAsync(host.Url + "/scalar/v1");
            await Assertions.Expect(page.GetByText("Client Libraries").First).ToBeVisibleAsync(new() { Timeout = 30_000 }); // the reference rendered
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, "scalar.png"), FullPage = true });
            var content = await page.ContentAsync();

            Assert.Contains("/v1/stats", content, StringComparison.Ordinal);
            Assert.Empty(elsewhere);
            Assert.DoesNotContain("client.scalar.com", content, StringComparison.Ordinal); // no button into Scalar's cloud client
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }

    [SkippableFact]
    public async Task Dashboard_FeedDrop_ShowsDisconnectedThenRecovered()
    {
        Skip.If(Chromium is null, NoBrowser);
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var accept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connections = 0;
        await using var jetstream = await LocalServer.StartAsync(app => app.Map("/subscribe", async (HttpContext ctx) =>
        {
            var n = Interlocked.Increment(ref connections);
            if (n > 1 && !accept.Task.IsCompleted)
            {
                ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable; // the relay is down for a while
                return;
            }

            using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
            for (var i = 0; !(n == 1 && drop.Task.IsCompleted) && !ctx.RequestAborted.IsCancellationRequested; i++)
            {
                var timeUs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
                await ws.SendAsync(Encoding.UTF8.GetBytes(Api.LiveFeedTests.Frame(n * 1000 + i, timeUs, $"River level update number {n * 1000 + i} from the bridge")), WebSocketMessageType.Text, true, ctx.RequestAborted);
                await Task.Delay(100, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            ctx.Abort(); // the first connection drops (when the test says so) without a close frame
        }));
        await using var host = await HostProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Feeds:Jetstream:Enabled"] = "true",
            ["Feeds:Replay:Enabled"] = "false",
            ["Feeds:Jetstream:Endpoints:0"] = jetstream.Url.Replace("http", "ws", StringComparison.Ordinal) + "/subscribe",
        });
        var (playwright, browser, page, errors) = await OpenAsync(host.Url);
        try
        {
            var state = page.Locator("tr[data-feed=jetstream] td.state");
            await Assertions.Expect(state).ToHaveTextAsync("connected", new() { Timeout = 30_000 });
            drop.SetResult();
            await Assertions.Expect(state).ToHaveTextAsync("disconnected", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("tr[data-feed=jetstream]")).ToContainTextAsync("503", new() { Timeout = 30_000 }); // the last error says why
            accept.SetResult();
            await Assertions.Expect(state).ToHaveTextAsync("connected", new() { Timeout = 60_000 });
            await Assertions.Expect(page.Locator("tr[data-feed=jetstream] td.num").Nth(2)).Not.ToHaveTextAsync("0"); // reconnects counted
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, "dashboard-feed-recovered.png"), FullPage = true });
            Assert.Empty(errors);
        }
        finally
        {
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }
}
