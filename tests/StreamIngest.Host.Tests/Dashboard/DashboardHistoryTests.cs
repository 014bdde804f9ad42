using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Host.Dashboard;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Transport;
using Xunit.Abstractions;

using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Dashboard;

/// <summary>The dashboard's chart history: rates per interval from the pipeline's counters, bounded in size.</summary>
public sealed class DashboardHistoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Sample_RatesPerSourceStoreEmbedderDeadLettersAndIntervalFreshness()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var metrics = new PipelineMetrics(new TestMeterFactory());
        var history = new DashboardHistory(metrics, new ChannelFeedTransport(10, 10), time);
        metrics.RecordReceived("bsky");
        metrics.RecordStored(time.GetUtcNow(), TimeSpan.FromSeconds(30)); // before the baseline: not in the first interval
        history.Sample();

        time.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 10; i++)
        {
            metrics.RecordReceived("bsky");
            metrics.RecordReceived("x");
            metrics.RecordStored(time.GetUtcNow(), TimeSpan.FromMilliseconds(100 * (i + 1)));
        }

        metrics.RecordReceived("x");
        metrics.RecordEmbedded(4);
        metrics.RecordRejected(2);
        history.Sample();

        var s = Assert.Single(history.Samples);
        Assert.Equal(5, s.InPerSecondBySource["bsky"]);
        Assert.Equal(5.5, s.InPerSecondBySource["x"]);
        Assert.Equal(5, s.StoredPerSecond);
        Assert.Equal(2, s.EmbeddedPerSecond);
        Assert.Equal(60, s.DeadLettersPerMinute);
        Assert.Equal(500, s.FreshnessP50Ms);   // of this interval's ten posts only, not the 30 s one before
        Assert.Equal(1000, s.FreshnessP99Ms);
        Assert.Equal(0, s.Queue);
    }

    [Fact]
    public void Sample_KeepsTwentyMinutesOfSamples()
    {
        var time = new FakeTimeProvider();
        var metrics = new PipelineMetrics(new TestMeterFactory());
        var history = new DashboardHistory(metrics, new ChannelFeedTransport(10, 10), time);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < DashboardHistory.Capacity + 100; i++)
        {
            metrics.RecordReceived("bsky");
            metrics.RecordStored(time.GetUtcNow(), TimeSpan.FromMilliseconds(i));
            history.Sample();
            time.Advance(DashboardHistory.Interval);
        }

        output.WriteLine($"Sample(): {watch.Elapsed.TotalMicroseconds / (DashboardHistory.Capacity + 100):F1} µs each (one every {DashboardHistory.Interval.TotalSeconds} s)");
        Assert.Equal(DashboardHistory.Capacity, history.Samples.Count);
        Assert.Equal(time.GetUtcNow() - DashboardHistory.Interval, history.Samples[^1].At);
    }
}
