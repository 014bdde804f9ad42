using Azure.Core;
using Azure.Identity;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;
using Azure.Storage.Blobs;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamIngest.Azure;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Embed;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Feeds.Health;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Transport;
using StreamIngest.Watches;

namespace StreamIngest.Host.Hosting;

/// <summary>
/// The distributed mode's adapters: the same ports, Azure behind them. Credentials: connection strings from
/// configuration, or one <see cref="DefaultAzureCredential"/> shared by every client.
/// </summary>
public static class AzureHostingExtensions
{
    /// <summary>Names under which the transport reports in /v1/feeds.</summary>
    public const string PublishHealthName = "eventhubs-publish";

    public const string ProcessHealthName = "eventhubs-process";

    public static void AddAzureCredential(this IHostApplicationBuilder builder) =>
        builder.Services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());

    public static void AddEventHubsTransport(this IHostApplicationBuilder builder, StreamIngestOptions options)
    {
        builder.AddAzureCredential();
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
            var processorOptions = new EventProcessorOptions { Identifier = o.ProcessorIdentifier ?? EventHubsOptions.DefaultProcessorIdentifier(Environment.MachineName, options.Role.ToString()) };
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
        if (options.RunsIngest)
        {
            checks.Add(new HealthCheckRegistration("eventhubs-publish", sp => new FeedHealthCheck(sp.GetRequiredService<FeedHealthRegistry>().For(PublishHealthName), requireConnected: false), null, ["ready"]));
        }

        if (options.RunsProcess)
        {
            checks.Add(new HealthCheckRegistration("eventhubs-process", sp => new FeedHealthCheck(sp.GetRequiredService<FeedHealthRegistry>().For(ProcessHealthName), requireConnected: true), null, ["ready"]));
            checks.AddCheck<BlobCheckpointHealthCheck>("checkpoints", tags: ["ready"]);
        }
    }

    public static void AddCosmosStore(this IHostApplicationBuilder builder, StreamIngestOptions options)
    {
        builder.AddAzureCredential();
        builder.Services.AddOptions<CosmosOptions>().BindConfiguration(CosmosOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CosmosOptions>>(new SectionValidator<CosmosOptions>(CosmosOptions.Section, o => o.Validate()));

        // The vector policy follows the embedder (local 384, or Embedding:OpenAI:Dimensions).
        builder.Services.AddSingleton<IPostConfigureOptions<CosmosOptions>>(sp => new PostConfigureOptions<CosmosOptions>(null, o => o.EmbeddingDimensions = sp.GetRequiredService<IEmbedder>().Dimensions));
        builder.Services.AddOptions<SqliteOptions>().BindConfiguration(SqliteOptions.Section);
        builder.Services.AddSingleton(sp => CosmosClientFactory.Create(sp.GetRequiredService<IOptions<CosmosOptions>>().Value, sp.GetRequiredService<TokenCredential>(), bulk: false));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CosmosOptions>>().Value;
            var client = sp.GetRequiredService<CosmosClient>();
            return new CosmosContainers(client.GetContainer(o.Database, o.Container), client.GetContainer(o.Database, o.StateContainer));
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<CosmosContainers>().Posts);

        // Before any worker: create what is missing (emulators) and wait out role assignments still propagating.
        builder.Services.AddHostedService(sp => new CosmosStartup(
            sp.GetRequiredService<CosmosClient>(), sp.GetRequiredService<CosmosContainers>(), sp.GetRequiredService<IOptions<CosmosOptions>>().Value,
            TimeSpan.FromHours(sp.GetRequiredService<IOptions<SqliteOptions>>().Value.RetentionHours), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CosmosOptions>>().Value;
            var container = sp.GetRequiredService<CosmosContainers>().Posts;

            // Bulk batching helps the process role's write bursts and slows everything else: only that role gets a bulk client.
            var bulk = o.Bulk && options.RunsProcess
                ? CosmosClientFactory.Create(o, sp.GetRequiredService<TokenCredential>(), bulk: true).GetContainer(container.Database.Id, container.Id)
                : null;
            return new CosmosPostStore(
                container, bulk, o, TimeSpan.FromHours(sp.GetRequiredService<IOptions<SqliteOptions>>().Value.RetentionHours), sp.GetRequiredService<IEmbedder>(),
                sp.GetRequiredService<HybridRanker>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<CosmosPostStore>>());
        });
        builder.Services.AddSingleton<IPostStore>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<IStoreFigures>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<IRetriever>(sp => HostingExtensions.WithRelevanceFloor(sp, sp.GetRequiredService<CosmosPostStore>()));
        builder.Services.AddSingleton<IPostReader>(sp => sp.GetRequiredService<CosmosPostStore>());

        // Side documents live in the state container.
        builder.Services.AddSingleton(sp => new CosmosEntityCountStore(
            sp.GetRequiredService<CosmosContainers>().State, sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.CountFlushSeconds), sp.GetRequiredService<ILogger<CosmosEntityCountStore>>()));
        builder.Services.AddSingleton<IEntityCountStore>(sp => sp.GetRequiredService<CosmosEntityCountStore>());
        if (options.RunsProcess)
        {
            builder.Services.AddHostedService(sp => new EntityCountFlusher(
                sp.GetRequiredService<CosmosEntityCountStore>(), TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.CountFlushSeconds),
                sp.GetRequiredService<TimeProvider>()));
        }

        builder.Services.AddSingleton<IWatchStore>(sp => new CosmosWatchStore(
            sp.GetRequiredService<CosmosContainers>().State, TimeSpan.FromHours(sp.GetRequiredService<IOptions<Watches.WatchOptions>>().Value.EventRetentionHours)));
        builder.Services.AddSingleton<ICursorStore>(sp => new CosmosCursorStore(sp.GetRequiredService<CosmosContainers>().State, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IDeadLetterStore>(sp => new MeteredDeadLetterStore(
            new CosmosDeadLetterStore(sp.GetRequiredService<CosmosContainers>().State, TimeSpan.FromHours(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.DeadLetterRetentionHours)),
            sp.GetRequiredService<PipelineMetrics>()));
        builder.Services.AddHealthChecks().AddCheck<CosmosHealthCheck>("cosmos", tags: ["ready"]);
    }
}

/// <summary>
/// Cosmos DB reachable: a point read of an item that need not exist (404 is healthy), a data-plane operation of
/// about 1 RU. Reading container metadata on every probe would spend the account's reserved metadata RU
/// (https://learn.microsoft.com/azure/cosmos-db/nosql/troubleshoot-request-rate-too-large#rate-limiting-on-metadata-requests).
/// </summary>
public sealed class CosmosHealthCheck(Container container) : IHealthCheck
{
    public const string ProbeId = CosmosHealthProbe.Id;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await container.ReadItemStreamAsync(ProbeId, new PartitionKey(ProbeId), cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.NotFound
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Cosmos DB answered {(int)response.StatusCode} {response.ErrorMessage}");
        }
        catch (Exception ex) when (ex is CosmosException or HttpRequestException)
        {
            return HealthCheckResult.Unhealthy("Cosmos DB container is not reachable", ex);
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
