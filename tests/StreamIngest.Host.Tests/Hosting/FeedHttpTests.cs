using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Polly.Timeout;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>Feed requests that are not streams time out (Microsoft.Extensions.Http.Resilience); streams do not.</summary>
public sealed class FeedHttpTests
{
    [Fact]
    public async Task RestClient_ServerThatNeverAnswers_TimesOutAfterTheConfiguredSeconds()
    {
        await using var server = await LocalServer.StartAsync(app => app.MapGet("/hang", (HttpContext ctx) => Task.Delay(Timeout.Infinite, ctx.RequestAborted)));
        await using var app = StreamIngestApp.Build(["--Urls=http://127.0.0.1:0", $"--Store:DataPath={TestPaths.NewTempDir()}", "--Feeds:RestTimeoutSeconds=1"]);
        var http = app.Services.GetRequiredService<IHttpClientFactory>();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // only if the timeout were missing

        var started = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => http.CreateClient(FeedHttpOptions.RestClient).GetAsync(server.Url + "/hang", guard.Token));

        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Assert.Equal(Timeout.InfiniteTimeSpan, http.CreateClient("feeds-streaming").Timeout); // streams: stalls are detected per read
    }
}

/// <summary>The feeds' reconnect and poll pipelines come from the host's registry (AddResiliencePipeline), one per name.</summary>
public sealed class FeedPipelineRegistrationTests
{
    private sealed class CountingBackoff : StreamIngest.Feeds.IFeedBackoff
    {
        public List<Exception> Failures { get; } = [];

        public TimeSpan NextDelay(Exception failure)
        {
            Failures.Add(failure);
            return TimeSpan.FromMilliseconds(1);
        }
    }

    [Fact]
    public async Task EveryFeedPipeline_IsRegistered_AndTakesItsWaitsFromTheCallingLoopsBackoff()
    {
        await using var app = StreamIngestApp.Build(["--Urls=http://127.0.0.1:0", $"--Store:DataPath={TestPaths.NewTempDir()}"]);
        var registry = app.Services.GetRequiredService<Polly.Registry.ResiliencePipelineProvider<string>>();

        foreach (var name in StreamIngest.Feeds.FeedResilience.Names)
        {
            Assert.True(registry.TryGetPipeline(name, out var pipeline), name);
            var backoff = new CountingBackoff();
            var calls = 0;
            await StreamIngest.Feeds.FeedResilience.ExecuteAsync(pipeline!, backoff, _ => ++calls < 3 ? throw new IOException($"drop {calls}") : ValueTask.CompletedTask, CancellationToken.None);

            Assert.Equal(3, calls);
            Assert.Equal(["drop 1", "drop 2"], backoff.Failures.Select(f => f.Message));
        }
    }
}
