using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NSubstitute;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Host.Hosting;

namespace StreamIngest.Host.Tests.Hosting;

/// <summary>The Cosmos readiness probe: a data-plane point read (404 is fine), never a container metadata read.</summary>
public class AzureHealthCheckTests
{
    [Theory]
    [InlineData(HttpStatusCode.NotFound, HealthStatus.Healthy)]
    [InlineData(HttpStatusCode.OK, HealthStatus.Healthy)]
    [InlineData(HttpStatusCode.Forbidden, HealthStatus.Unhealthy)]
    [InlineData(HttpStatusCode.ServiceUnavailable, HealthStatus.Unhealthy)]
    public async Task CosmosHealthCheck_PointReadsAProbeIdAndNeverReadsContainerMetadata(HttpStatusCode answer, HealthStatus expected)
    {
        var container = Substitute.For<Container>();
        container.ReadItemStreamAsync(CosmosHealthCheck.ProbeId, Arg.Any<PartitionKey>(), Arg.Any<ItemRequestOptions>(), Arg.Any<CancellationToken>())
            .Returns(new ResponseMessage(answer));

        var result = await new CosmosHealthCheck(container).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(expected, result.Status);
        await container.DidNotReceiveWithAnyArgs().ReadContainerAsync(default, default);
        await container.DidNotReceiveWithAnyArgs().ReadContainerStreamAsync(default, default);
    }

    [Fact]
    public void CosmosRegistration_ReadsTheSameRetentionDefaultsAsTheHostsOptions()
    {
        Assert.Equal(CosmosStoreRegistration.DefaultRetentionHours, new StreamIngest.Embedded.Sqlite.SqliteOptions().RetentionHours);
        Assert.Equal(CosmosStoreRegistration.DefaultWatchEventRetentionHours, new StreamIngest.Host.Watches.WatchOptions().EventRetentionHours);
    }
}
