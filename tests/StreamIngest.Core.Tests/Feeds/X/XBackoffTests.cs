using StreamIngest.Feeds.X;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds.X;

public class XBackoffTests
{
    private static double[] Seconds(XBackoff b, XFailure kind, int n, TimeSpan? reset = null) =>
        [.. Enumerable.Range(0, n).Select(_ => b.Next(kind, reset).TotalSeconds)];

    [Fact]
    public void Next_NetworkErrors_BackOffLinearlyBy250msUpTo16s()
    {
        var delays = Seconds(new XBackoff(), XFailure.Network, 70);

        Assert.Equal([0.25, 0.5, 0.75, 1.0], delays[..4]);
        Assert.Equal(16, delays[63]);
        Assert.Equal(16, delays[^1]);
    }

    [Fact]
    public void Next_HttpErrors_BackOffExponentiallyFrom5sUpTo320s()
    {
        Assert.Equal([5, 10, 20, 40, 80, 160, 320, 320, 320], Seconds(new XBackoff(), XFailure.Http, 9));
    }

    [Fact]
    public void Next_RateLimited_StartsAtOneMinuteDoublesAndWaitsForTheReset()
    {
        var b = new XBackoff();

        Assert.Equal([60, 120, 240], Seconds(b, XFailure.RateLimited, 3));
        Assert.Equal(900, b.Next(XFailure.RateLimited, TimeSpan.FromMinutes(15)).TotalSeconds);
        Assert.Equal(960, new XBackoff().Next(XFailure.RateLimited, TimeSpan.FromMinutes(16)).TotalSeconds);
        Assert.Equal(60, new XBackoff().Next(XFailure.RateLimited, TimeSpan.FromSeconds(5)).TotalSeconds);
    }

    [Fact]
    public void Reset_AfterASuccessfulConnection_StartsEverySequenceAgain()
    {
        var b = new XBackoff();
        Seconds(b, XFailure.Network, 5);
        Seconds(b, XFailure.Http, 3);

        b.Reset();

        Assert.Equal(0.25, b.Next(XFailure.Network).TotalSeconds);
        Assert.Equal(5, b.Next(XFailure.Http).TotalSeconds);
    }

    [Theory]
    [InlineData(429, XFailure.RateLimited)]
    [InlineData(503, XFailure.Http)]
    public void Classify_HttpStatus_PicksTheRule(int status, XFailure expected)
    {
        Assert.Equal(expected, XBackoff.Classify(new HttpRequestException("x", null, (System.Net.HttpStatusCode)status)));
    }

    [Fact]
    public void Classify_SocketErrors_AreNetwork()
    {
        Assert.Equal(XFailure.Network, XBackoff.Classify(new HttpRequestException("connection refused")));
        Assert.Equal(XFailure.Network, XBackoff.Classify(new IOException("reset")));
    }
}
