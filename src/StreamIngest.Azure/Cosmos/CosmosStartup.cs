using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Start-up work for the Cosmos DB store, before any worker runs: creates the containers when
/// <see cref="CosmosOptions.CreateIfMissing"/> is set (emulators, first runs), then proves this identity can read both
/// containers and that the posts container's vector policy fits the embedder. A 401 or 403 is waited out for <see cref="CosmosOptions.AccessWaitSeconds"/>, logging each attempt: a
/// data-plane role assignment deployed with the app can take minutes to apply
/// (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting, "role assignment changes are not being detected"), and a
/// role that crashed instead would restart in a loop. A container that does not exist stops the start with a message.
/// </summary>
public sealed partial class CosmosStartup(
    CosmosClient client, CosmosContainers containers, CosmosOptions options, TimeSpan retention, TimeProvider timeProvider, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<CosmosStartup>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + TimeSpan.FromSeconds(options.AccessWaitSeconds);
        var delay = TimeSpan.FromSeconds(2);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (options.CreateIfMissing)
                {
                    await CosmosPostStore.EnsureContainerAsync(client, options, retention, cancellationToken, loggerFactory.CreateLogger<CosmosPostStore>()).ConfigureAwait(false);
                    await CosmosStateContainer.EnsureAsync(client, options, cancellationToken).ConfigureAwait(false);
                }

                await ProbeAsync(containers.Posts, cancellationToken).ConfigureAwait(false);
                await ProbeAsync(containers.State, cancellationToken).ConfigureAwait(false);

                // A container made for another vector length or index type cannot serve this one: creating checked that
                // already; otherwise one metadata read.
                if (!options.CreateIfMissing
                    && CosmosPostStore.VectorIndexMismatch((await containers.Posts.ReadContainerAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Resource, options) is { } mismatch)
                {
                    throw new InvalidOperationException(mismatch);
                }

                return;
            }
            catch (CosmosException e) when (e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized && timeProvider.GetUtcNow() + delay < deadline)
            {
                LogAccessRefused(_logger, (int)e.StatusCode, attempt, delay.TotalSeconds, e.Message.Split('\n')[0]);
                await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A point read of an id that need not exist: 404 for the item is access; 404 for the container is not.</summary>
    private static async Task ProbeAsync(Container container, CancellationToken ct)
    {
        using var response = await container.ReadItemStreamAsync(CosmosHealthProbe.Id, new PartitionKey(CosmosHealthProbe.Id), cancellationToken: ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound && response.Headers["x-ms-substatus"] is { } sub && sub != "0")
        {
            throw new InvalidOperationException(
                $"Cosmos DB container '{container.Database.Id}/{container.Id}' does not exist (404/{sub}). Deploy infra/main.bicep, or set {CosmosOptions.Section}:CreateIfMissing=true for an emulator.");
        }

        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
        {
            throw new CosmosException(response.ErrorMessage ?? $"Cosmos DB answered {(int)response.StatusCode}", response.StatusCode, 0, response.Headers.ActivityId, response.Headers.RequestCharge);
        }
    }

    [LoggerMessage(EventId = 5211, Level = LogLevel.Warning, Message = "Cosmos DB refused this identity ({Status}, attempt {Attempt}); a role assignment may still be propagating: trying again in {Seconds} s. {Reason}")]
    private static partial void LogAccessRefused(ILogger logger, int status, int attempt, double seconds, string reason);
}

/// <summary>The id read to probe a container: it never exists, so the read is the cheapest data-plane call (1 RU).</summary>
public static class CosmosHealthProbe
{
    public const string Id = "_health";
}
