using StreamIngest.Host.Auth;

namespace StreamIngest.Host.Tests.Api;

/// <summary>Per-key limits across api replicas: each allows its share, so the key's limit holds across them.</summary>
public class RateLimitShareTests
{
    [Theory]
    [InlineData(1, 600, 600)]
    [InlineData(2, 600, 300)]
    [InlineData(3, 100, 34)] // rounded up: across an even spread the key never gets less than its limit
    [InlineData(10, 5, 1)]
    public void EachReplica_AllowsItsShareOfTheKeysLimit(int replicas, int perMinute, int share)
    {
        var options = new AuthOptions { ApiReplicas = replicas };

        Assert.Equal(share, options.PerReplica(perMinute));
        Assert.InRange((replicas * share) - perMinute, 0, replicas - 1);
    }
}
