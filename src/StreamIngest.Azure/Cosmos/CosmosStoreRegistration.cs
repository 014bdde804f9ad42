using Azure.Core;
using Azure.Identity;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamIngest.Embed;
using StreamIngest.Hosting;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Watches;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Registers the Cosmos DB store behind the store ports: posts (write, read, search) in the posts container, side
/// documents in the state container, start-up (provisioning, access wait) before any worker, the count flusher on
/// the process role, and the <c>cosmos</c> readiness check.
/// </summary>
public static class CosmosStoreRegistration
{
    /// <summary>Post retention (hours): <c>Store:RetentionHours</c>, shared with the embedded store.</summary>
    public const string RetentionKey = "Store:RetentionHours";

    /// <summary>How long a watch's events and delivery log are kept: <c>Watches:EventRetentionHours</c>.</summary>
    public const string WatchEventRetentionKey = "Watches:EventRetentionHours";

    /// <summary>The defaults of those two keys, as the host's options state them (a host test keeps them equal).</summary>
    public const double DefaultRetentionHours = 48, DefaultWatchEventRetentionHours = 168;

    /// <param name="runsProcess">This process runs the process role: it gets the bulk client and the count flusher.</param>
    /// <param name="retriever">Wraps the store's retriever (e.g. the relevance floor).</param>
    public static void AddCosmosStore(this IHostApplicationBuilder builder, bool runsProcess, Func<IServiceProvider, IRetriever, IRetriever>? retriever = null)
    {
        builder.Services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        builder.Services.AddOptions<CosmosOptions>().BindConfiguration(CosmosOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CosmosOptions>>(new SectionValidator<CosmosOptions>(CosmosOptions.Section, o => o.Validate()));

        // The vector policy follows the embedder (local 384, or Embedding:OpenAI:Dimensions).
        builder.Services.AddSingleton<IPostConfigureOptions<CosmosOptions>>(sp => new PostConfigureOptions<CosmosOptions>(null, o => o.EmbeddingDimensions = sp.GetRequiredService<IEmbedder>().Dimensions));
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
            RetentionOf(sp), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CosmosOptions>>().Value;
            var container = sp.GetRequiredService<CosmosContainers>().Posts;

            // Bulk batching helps the process role's write bursts and slows everything else: only that role gets a bulk client.
            var bulk = o.Bulk && runsProcess
                ? CosmosClientFactory.Create(o, sp.GetRequiredService<TokenCredential>(), bulk: true).GetContainer(container.Database.Id, container.Id)
                : null;
            return new CosmosPostStore(
                container, bulk, o, RetentionOf(sp), sp.GetRequiredService<IEmbedder>(),
                sp.GetRequiredService<HybridRanker>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<CosmosPostStore>>());
        });
        builder.Services.AddSingleton<IPostStore>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<IStoreFigures>(sp => sp.GetRequiredService<CosmosPostStore>());
        builder.Services.AddSingleton<IRetriever>(sp => retriever is null ? sp.GetRequiredService<CosmosPostStore>() : retriever(sp, sp.GetRequiredService<CosmosPostStore>()));
        builder.Services.AddSingleton<IPostReader>(sp => sp.GetRequiredService<CosmosPostStore>());

        // Side documents live in the state container.
        builder.Services.AddSingleton(sp => new CosmosEntityCountStore(
            sp.GetRequiredService<CosmosContainers>().State, sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.CountFlushSeconds), sp.GetRequiredService<ILogger<CosmosEntityCountStore>>()));
        builder.Services.AddSingleton<IEntityCountStore>(sp => sp.GetRequiredService<CosmosEntityCountStore>());
        if (runsProcess)
        {
            builder.Services.AddHostedService(sp => new EntityCountFlusher(
                sp.GetRequiredService<CosmosEntityCountStore>(), TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.CountFlushSeconds),
                sp.GetRequiredService<TimeProvider>()));
        }

        builder.Services.AddSingleton<IWatchStore>(sp => new CosmosWatchStore(
            sp.GetRequiredService<CosmosContainers>().State, TimeSpan.FromHours(sp.GetRequiredService<IConfiguration>().GetValue(WatchEventRetentionKey, DefaultWatchEventRetentionHours))));
        builder.Services.AddSingleton<ICursorStore>(sp => new CosmosCursorStore(sp.GetRequiredService<CosmosContainers>().State, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<IDeadLetterStore>(sp => new MeteredDeadLetterStore(
            new CosmosDeadLetterStore(sp.GetRequiredService<CosmosContainers>().State, TimeSpan.FromHours(sp.GetRequiredService<IOptions<CosmosOptions>>().Value.DeadLetterRetentionHours)),
            sp.GetRequiredService<PipelineMetrics>()));
        builder.Services.AddHealthChecks().AddCheck<CosmosHealthCheck>("cosmos", tags: ["ready"]);
    }

    private static TimeSpan RetentionOf(IServiceProvider sp) => TimeSpan.FromHours(sp.GetRequiredService<IConfiguration>().GetValue(RetentionKey, DefaultRetentionHours));
}
