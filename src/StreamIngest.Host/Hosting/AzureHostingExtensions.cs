using Azure.Identity;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;
using Azure.Storage.Blobs;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamIngest.Azure;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Embed;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Transport;

namespace StreamIngest.Host.Hosting;

/// <summary>The distributed mode's adapters: the same ports, Azure behind them. Credentials: connection strings from configuration, or DefaultAzureCredential.</summary>
public static class AzureHostingExtensions
{
    public static void AddEventHubsTransport(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EventHubsOptions>().BindConfiguration(EventHubsOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EventHubsOptions>>(new SectionValidator<EventHubsOptions>(EventHubsOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            var producerOptions = new EventHubBufferedProducerClientOptions { EnableIdempotentRetries = o.EnableIdempotentRetries };
            var producer = o.ConnectionString is { Length: > 0 }
                ? new EventHubBufferedProducerClient(o.ConnectionString, o.HubName, producerOptions)
                : new EventHubBufferedProducerClient(o.FullyQualifiedNamespace, o.HubName, new DefaultAzureCredential(), producerOptions);
            return new EventHubsFeedPublisher(producer, sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EventHubsFeedPublisher>>());
        });
        builder.Services.AddSingleton<IFeedPublisher>(sp => sp.GetRequiredService<EventHubsFeedPublisher>());
        builder.Services.AddSingleton<IFeedConsumer>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EventHubsOptions>>().Value;
            var container = o.CheckpointConnectionString is { Length: > 0 }
                ? new BlobContainerClient(o.CheckpointConnectionString, o.CheckpointContainer)
                : new BlobContainerClient(new Uri(o.CheckpointContainerUri!), new DefaultAzureCredential());
            var processorOptions = new EventProcessorOptions { Identifier = o.ProcessorIdentifier ?? $"{Environment.MachineName}-{Environment.ProcessId}" };
            var store = new BlobCheckpointStore(container);
            var deadLetters = sp.GetRequiredService<IDeadLetterStore>();
            var time = sp.GetRequiredService<TimeProvider>();
            var logger = sp.GetRequiredService<ILogger<EventHubsFeedConsumer>>();
            // Emulators (connection string) get their checkpoint container created; in Azure infra/ deploys it.
            Func<CancellationToken, Task>? prepare = o.CheckpointConnectionString is { Length: > 0 } ? ct => container.CreateIfNotExistsAsync(cancellationToken: ct) : null;
            return o.ConnectionString is { Length: > 0 }
                ? new EventHubsFeedConsumer(store, o.MaxBatch, o.ConsumerGroup, o.ConnectionString, o.HubName, processorOptions, deadLetters, time, logger) { BeforeStart = prepare }
                : new EventHubsFeedConsumer(store, o.MaxBatch, o.ConsumerGroup, o.FullyQualifiedNamespace!, o.HubName, new DefaultAzureCredential(), processorOptions, deadLetters, time, logger) { BeforeStart = prepare };
        });
    }

    public static void AddCosmosStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CosmosOptions>().BindConfiguration(CosmosOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CosmosOptions>>(new SectionValidator<CosmosOptions>(CosmosOptions.Section,
            o => o.Enabled ? [] : [$"{CosmosOptions.Section}:Endpoint or {CosmosOptions.Section}:ConnectionString must be set when StoreKind is 'Cosmos'."]));
        builder.Services.AddOptions<SqliteOptions>().BindConfiguration(SqliteOptions.Section);
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CosmosOptions>>().Value;
            var clientOptions = new CosmosClientOptions { UseSystemTextJsonSerializerWithOptions = PostJson.Options, AllowBulkExecution = o.Bulk };
            return o.ConnectionString is { Length: > 0 }
                ? new CosmosClient(o.ConnectionString, clientOptions)
                : new CosmosClient(o.Endpoint, new DefaultAzureCredential(), clientOptions);
        });
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CosmosOptions>>().Value;
            var client = sp.GetRequiredService<CosmosClient>();
            var retention = TimeSpan.FromHours(sp.GetRequiredService<IOptions<SqliteOptions>>().Value.RetentionHours);
            return o.CreateIfMissing
                ? CosmosPostStore.EnsureContainerAsync(client, o, retention, CancellationToken.None).GetAwaiter().GetResult()
                : client.GetContainer(o.Database, o.Container);
        });
        builder.Services.AddSingleton(sp => new CosmosPostStore(
            sp.GetRequiredService<Container>(), sp.GetRequiredService<IOptions<CosmosOptions>>().Value, sp.GetRequiredService<IEmbedder>(),
            sp.GetRequiredService<HybridRanker>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IPostStore>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<IRetriever>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<ICursorStore>(sp => new CosmosCursorStore(sp.GetRequiredService<Container>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IDeadLetterStore>(sp => new MeteredDeadLetterStore(new CosmosDeadLetterStore(sp.GetRequiredService<Container>()), sp.GetRequiredService<PipelineMetrics>()));
        builder.Services.AddHealthChecks().AddCheck<CosmosHealthCheck>("cosmos", tags: ["ready"]);
    }
}

internal sealed class CosmosHealthCheck(Container container) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await container.ReadContainerAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (CosmosException ex)
        {
            return HealthCheckResult.Unhealthy("Cosmos DB container is not reachable", ex);
        }
    }
}
