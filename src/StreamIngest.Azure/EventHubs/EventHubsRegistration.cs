using Azure.Core;
using Azure.Identity;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamIngest.Feeds.Health;
using StreamIngest.Hosting;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// Registers Event Hubs as the transport between the roles: the buffered publisher (ingest), the processor with Blob
/// checkpoints (process), the partition view the dashboard reads (every role), and their readiness checks. A
/// connection string (emulator, SAS) or <see cref="DefaultAzureCredential"/>.
/// </summary>
public static class EventHubsRegistration
{
    /// <summary>Names under which the transport reports in /v1/feeds.</summary>
    public const string PublishHealthName = "eventhubs-publish";

    public const string ProcessHealthName = "eventhubs-process";

    /// <param name="role">This process's role name, part of the processor's default identifier.</param>
    /// <param name="runsIngest">The process publishes (ingest role): the publish readiness check.</param>
    /// <param name="runsProcess">The process consumes (process role): the process and checkpoint readiness checks.</param>
    public static void AddEventHubsTransport(this IHostApplicationBuilder builder, string role, bool runsIngest, bool runsProcess)
    {
        builder.Services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        builder.Services.AddOptions<EventHubsOptions>().BindConfiguration(EventHubsOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EventHubsOptions>>(new SectionValidator<EventHubsOptions>(EventHubsOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            var producerOptions = new EventHubBufferedProducerClientOptions { EnableIdempotentRetries = o.EnableIdempotentRetries };
            var producer = o.ConnectionString is { Length: > 0 }
                ? new EventHubBufferedProducerClient(o.ConnectionString, o.HubName, producerOptions)
                : new EventHubBufferedProducerClient(o.FullyQualifiedNamespace, o.HubName, sp.GetRequiredService<TokenCredential>(), producerOptions);
            return new EventHubsFeedPublisher(
                producer, sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EventHubsFeedPublisher>>())
            {
                Health = sp.GetRequiredService<FeedHealthRegistry>().For(PublishHealthName),
            };
        });
        builder.Services.AddSingleton<IFeedPublisher>(sp => sp.GetRequiredService<EventHubsFeedPublisher>());
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            return o.CheckpointConnectionString is { Length: > 0 }
                ? new BlobContainerClient(o.CheckpointConnectionString, o.CheckpointContainer)
                : new BlobContainerClient(new Uri(o.CheckpointContainerUri!), sp.GetRequiredService<TokenCredential>());
        });
        builder.Services.AddSingleton(sp =>
        {
            // The dashboard's partition view (ownership, checkpoints, lag) on any role, the api role included.
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            var hub = o.ConnectionString is { Length: > 0 }
                ? new global::Azure.Messaging.EventHubs.Consumer.EventHubConsumerClient(o.ConsumerGroup, o.ConnectionString, o.HubName)
                : new global::Azure.Messaging.EventHubs.Consumer.EventHubConsumerClient(o.ConsumerGroup, o.FullyQualifiedNamespace, o.HubName, sp.GetRequiredService<TokenCredential>());
            return new PartitionStatusReader(hub, new BlobCheckpointStore(sp.GetRequiredService<BlobContainerClient>()));
        });
        builder.Services.AddSingleton<IFeedConsumer>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            var container = sp.GetRequiredService<BlobContainerClient>();
            var processorOptions = new EventProcessorOptions { Identifier = o.ProcessorIdentifier ?? EventHubsOptions.DefaultProcessorIdentifier(Environment.MachineName, role) };
            var store = new BlobCheckpointStore(container);
            var deadLetters = sp.GetRequiredService<IDeadLetterStore>();
            var time = sp.GetRequiredService<TimeProvider>();
            var logger = sp.GetRequiredService<ILogger<EventHubsFeedConsumer>>();
            var health = sp.GetRequiredService<FeedHealthRegistry>().For(ProcessHealthName);

            // Emulators (connection string) get their checkpoint container created; in Azure infra/ deploys it.
            Func<CancellationToken, Task>? prepare = o.CheckpointConnectionString is { Length: > 0 } ? ct => container.CreateIfNotExistsAsync(cancellationToken: ct) : null;
            return o.ConnectionString is { Length: > 0 }
                ? new EventHubsFeedConsumer(store, o.MaxBatch, o.ConsumerGroup, o.ConnectionString, o.HubName, processorOptions, deadLetters, time, logger) { BeforeStart = prepare, Health = health }
                : new EventHubsFeedConsumer(store, o.MaxBatch, o.ConsumerGroup, o.FullyQualifiedNamespace!, o.HubName, sp.GetRequiredService<TokenCredential>(), processorOptions, deadLetters, time, logger) { BeforeStart = prepare, Health = health };
        });

        var checks = builder.Services.AddHealthChecks();
        if (runsIngest)
        {
            checks.Add(new HealthCheckRegistration("eventhubs-publish", sp => new FeedHealthCheck(sp.GetRequiredService<FeedHealthRegistry>().For(PublishHealthName), requireConnected: false), null, ["ready"]));
        }

        if (runsProcess)
        {
            checks.Add(new HealthCheckRegistration("eventhubs-process", sp => new FeedHealthCheck(sp.GetRequiredService<FeedHealthRegistry>().For(ProcessHealthName), requireConnected: true), null, ["ready"]));
            checks.AddCheck<BlobCheckpointHealthCheck>("checkpoints", tags: ["ready"]);
        }
    }
}

/// <summary>The Blob container that holds checkpoints and ownership is reachable.</summary>
internal sealed class BlobCheckpointHealthCheck(BlobContainerClient container) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await container.ExistsAsync(cancellationToken).ConfigureAwait(false)).Value
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"checkpoint container '{container.Name}' does not exist");
        }
        catch (Exception ex) when (ex is global::Azure.RequestFailedException or HttpRequestException or AggregateException)
        {
            return HealthCheckResult.Unhealthy("checkpoint storage is not reachable", ex);
        }
    }
}

/// <summary>
/// A transport's state as its client last reported it: unhealthy while it is failing. With
/// <c>requireConnected</c>, also before it first connected (a processor that has not started cannot take work).
/// </summary>
internal sealed class FeedHealthCheck(FeedHealth health, bool requireConnected) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failing = health.LastError is not null && !health.Connected;
        var notStarted = requireConnected && !health.Connected;
        return Task.FromResult(failing || notStarted
            ? HealthCheckResult.Unhealthy($"{health.Name}: {health.LastError ?? "not connected yet"}")
            : HealthCheckResult.Healthy());
    }
}
