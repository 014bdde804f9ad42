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
