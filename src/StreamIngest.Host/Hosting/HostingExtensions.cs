using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using StreamIngest.Embed;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Tokens;
using StreamIngest.Enrich;
using StreamIngest.Enrich.Safety;
using StreamIngest.Enrich.Signals;
using StreamIngest.Feeds;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Jetstream;
using StreamIngest.Feeds.Mastodon;
using StreamIngest.Feeds.Replay;
using StreamIngest.Feeds.Rss;
using StreamIngest.Feeds.X;
using StreamIngest.Ground;
using StreamIngest.Model;
using StreamIngest.OpenAI.Embed;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Transport;
using StreamIngest.Watches;

namespace StreamIngest.Host.Hosting;

/// <summary>One Add… per stage or adapter; Program.cs composes them.</summary>
public static class HostingExtensions
{
    public static StreamIngestOptions AddStreamIngestCore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOptions<StreamIngestOptions>().BindConfiguration(string.Empty).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<StreamIngestOptions>>(new SectionValidator<StreamIngestOptions>(string.Empty, o => o.Validate()));
        builder.Services.AddSingleton(sp => new PipelineMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.ConfigureHttpJsonOptions(o => PostJson.Configure(o.SerializerOptions));
        builder.Services.AddOptions<SafetyOptions>().BindConfiguration(SafetyOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SafetyOptions>>(new SectionValidator<SafetyOptions>(SafetyOptions.Section, o => o.Validate()));

        var options = new StreamIngestOptions();
        builder.Configuration.Bind(options);
        return options;
    }

    /// <summary><c>Embedding:Provider</c>: <c>local</c> (default, the packaged sentence models) or <c>openai</c> (Azure OpenAI or any OpenAI-compatible endpoint).</summary>
    public static void AddEmbedder(this IHostApplicationBuilder builder)
    {
        switch ((builder.Configuration["Embedding:Provider"] ?? "local").ToLowerInvariant())
        {
            case "local":
                builder.AddOnnxEmbedder();
                break;
            case "openai":
                builder.AddOnnxEmbedder(embedder: false); // its section still says which signal heads to load
                // A question's embedding tokens count against the key that asked it (/v1/usage).
                builder.AddOpenAiEmbedder((sp, embedder) => embedder.QueryTokensUsed = sp.GetService<Auth.UsageMeter>() is { } usage ? usage.EmbeddingTokens : null);
                break;
            case var other:
                throw new HostStartRefusedException($"Embedding:Provider must be 'local' or 'openai' (got '{other}').");
        }
    }

    /// <summary>The store (with retriever, cursors and dead letters) that <see cref="StreamIngestOptions.StoreKind"/> names.</summary>
    public static void AddStore(this IHostApplicationBuilder builder, StreamIngestOptions options)
    {
        if (options.StoreKind == StoreKind.Cosmos)
        {
            builder.AddCosmosStore(options);
        }
        else
        {
            builder.AddEmbeddedStore();
        }
    }

    /// <summary>The embedded store (<see cref="SqliteStoreRegistration.AddSqliteStore"/>), its searches behind the relevance floor.</summary>
    public static void AddEmbeddedStore(this IHostApplicationBuilder builder) =>
        builder.AddSqliteStore(sp => sp.GetRequiredService<IOptions<SearchOptions>>().Value.ShortlistStories, WithRelevanceFloor);

    /// <summary>The store's retriever behind the search relevance floor (<c>Search:MinRelevance</c>, off by default).</summary>
    public static IRetriever WithRelevanceFloor(IServiceProvider sp, IRetriever inner) =>
        WithFloor(sp, inner, sp.GetRequiredService<IOptions<SearchOptions>>().Value.MinRelevance);

    private static IRetriever WithFloor(IServiceProvider sp, IRetriever inner, double floor, double minEstimate = 0) =>
        floor > 0 || minEstimate > 0 ? new RelevanceFloor(inner, floor, sp.GetRequiredService<TimeProvider>()) { MinEstimate = minEstimate } : inner;

    /// <summary>Retrieval ranking and grounded prompts.</summary>
    public static void AddRetrieval(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SearchOptions>().BindConfiguration(SearchOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SearchOptions>>(new SectionValidator<SearchOptions>(SearchOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<SearchOptions>>().Value;
            // Scores mean something per embedding model: its fitted keyword weight and relevance estimate (none for a remote one).
            var calibration = RelevanceCalibration.For(sp.GetRequiredService<IEmbedder>().Model);
            return new HybridRanker(
                new RankingOptions
                {
                    HalfLife = o.HalfLife, RecencyWeight = o.RecencyWeight, EngagementWeight = o.EngagementWeight, RrfK = o.RrfK,
                    Fusion = o.Fusion, KeywordWeight = o.KeywordWeight ?? calibration?.KeywordWeight ?? new RankingOptions().KeywordWeight,
                    Calibration = calibration,
                    EnglishOnlyEmbedder = calibration is not null, // the packaged models; a remote one is taken to read every language
                },
                sp.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddSingleton<ITokenCounter, TiktokenTokenCounter>();
        // Grounding answers questions: below the floor fitted for the model, "no posts on this" instead of unrelated ones.
        builder.Services.AddSingleton(sp => new GroundedPromptBuilder(
            WithFloor(
                sp, sp.GetRequiredService<IRetriever>(),
                sp.GetRequiredService<IOptions<SearchOptions>>().Value.GroundMinRelevance ?? RelevanceFloor.DefaultFor(sp.GetRequiredService<IEmbedder>().Model),
                sp.GetRequiredService<IOptions<SearchOptions>>().Value.GroundMinScore),
            sp.GetRequiredService<ITokenCounter>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<SafetyOptions>>().Value));
    }

    /// <summary>Transport, enrichers and the workers of the roles this process runs.</summary>
    public static void AddPipeline(this IHostApplicationBuilder builder, StreamIngestOptions options)
    {
        if (options.Transport == TransportKind.EventHubs)
        {
            builder.AddEventHubsTransport(options);
        }
        else
        {
            builder.Services.AddSingleton(sp =>
            {
                var o = sp.GetRequiredService<IOptions<StreamIngestOptions>>().Value;
                return new ChannelFeedTransport(o.QueueCapacity, o.MaxBatch, sp.GetRequiredService<TimeProvider>());
            });
            builder.Services.AddSingleton<IFeedPublisher>(sp => sp.GetRequiredService<ChannelFeedTransport>());
            builder.Services.AddSingleton<IFeedConsumer>(sp => sp.GetRequiredService<ChannelFeedTransport>());
        }

        // Order matters: injection is judged on the raw text, before clean-up removes what hides it.
        builder.Services.AddSingleton<IEnricher>(sp => new PromptInjectionEnricher(sp.GetRequiredService<IOptions<SafetyOptions>>().Value));
        builder.Services.AddSingleton<IEnricher, StandardEnricher>(_ => new StandardEnricher());
        builder.Services.AddSingleton<IEnricher>(_ => new LanguageEnricher());

        // Sentiment and the offensive/hate labels read the embedding: heads trained by `train signals` for this embedder.
        builder.Services.AddSingleton<ISignalEnricher>(sp =>
        {
            var embedder = sp.GetRequiredService<IEmbedder>();
            var o = sp.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            var path = o.SignalsPath is { Length: > 0 } configured ? Path.GetFullPath(configured) : SignalModel.BundledPathFor(o.Model);
            var model = File.Exists(path) ? SignalModel.Load(path) : null;
            if (model is null || !string.Equals(model.EmbeddingModel, embedder.Model, StringComparison.Ordinal))
            {
                // Heads read the vectors they were trained on: another model's would give confident nonsense.
                var train = embedder.Model.StartsWith("openai:", StringComparison.Ordinal)
                    ? "`dotnet run -c Release --project tools/StreamIngest.Training -- signals --provider openai --out FILE` (it reads the same Embedding:OpenAI settings), then set Embedding:SignalsPath=FILE"
                    : "`dotnet run -c Release --project tools/StreamIngest.Training -- signals --model " + o.Model + "`";
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("StreamIngest.Signals").LogWarning(
                    "Sentiment, offensive and hate labels are off: {Path} {Problem}, and the embedder is '{Embedder}'. Train heads for it with {Command}.",
                    path, model is null ? "does not exist" : $"was trained on '{model.EmbeddingModel}' vectors", embedder.Model, train);
                return new NoSignals();
            }

            return new SignalEnricher(model, sp.GetRequiredService<IOptions<SafetyOptions>>().Value);
        });
        builder.Services.AddSingleton(sp => new StoryClusterer(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ISignalEnricher>(sp => sp.GetRequiredService<StoryClusterer>());
        builder.Services.AddSingleton<PostProcessor>();

        if (options.RunsIngest)
        {
            builder.Services.AddHostedService(sp => new IngestWorker(
                sp.GetRequiredService<IReadOnlyList<IFeedSource>>(), sp.GetRequiredService<IFeedPublisher>(), sp.GetRequiredService<PipelineMetrics>(), sp.GetRequiredService<ILogger<IngestWorker>>()));
        }

        if (options.RunsProcess)
        {
            builder.Services.AddHostedService<StoryMemoryWarmer>();
            builder.Services.AddHostedService(sp => new ProcessWorker(
                sp.GetRequiredService<IFeedConsumer>(), sp.GetRequiredService<PostProcessor>(), sp.GetRequiredService<IDeadLetterStore>(),
                sp.GetRequiredService<PipelineMetrics>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ProcessWorker>>())
            {
                Health = options.Transport == TransportKind.EventHubs ? sp.GetRequiredService<FeedHealthRegistry>().For(StreamIngest.Azure.EventHubs.EventHubsRegistration.ProcessHealthName) : null,
                RetriedBelow = options.StoreKind == StoreKind.Cosmos ? StreamIngest.Azure.Cosmos.CosmosPostStore.IsThrottled : null,
            });
            builder.Services.AddHostedService(sp =>
            {
                var o = sp.GetRequiredService<IOptions<SqliteOptions>>().Value; // Cosmos expires by TTL; its purge is a no-op
                return new RetentionWorker(
                    sp.GetRequiredService<IPostStore>(),
                    TimeSpan.FromHours(o.RetentionHours),
                    TimeSpan.FromSeconds(o.PurgeIntervalSeconds),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<RetentionWorker>>());
            });

            // Posts stored without a vector (the embedder gave up) are embedded again once it answers.
            var reembed = TimeSpan.FromSeconds(builder.Configuration.GetValue("Embedding:ReembedSeconds", 60.0));
            builder.Services.AddHostedService(sp => new ReembedWorker(
                sp.GetRequiredService<IPostStore>(), sp.GetRequiredService<IEmbedder>(), sp.GetRequiredService<PipelineMetrics>(), reembed,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ReembedWorker>>()));
        }

        if (options.StatusIntervalSeconds > 0)
        {
            builder.Services.AddHostedService<StatusReporter>();
        }
    }

    /// <summary>
    /// Feed adapters. Live Bluesky Jetstream is on by default, with the demo replay as its stand-in when no
    /// network answers; with Jetstream off, the replay runs on its own. X, Mastodon and RSS run when configured.
    /// </summary>
    public static void AddFeeds(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<FeedHealthRegistry>();
        builder.Services.AddSingleton<TrendRegistry>();
        const string userAgent = "StreamIngest/0.1 (+https://github.com/streamingest)";
        builder.Services.AddHttpClient("feeds-streaming", c =>
        {
            c.Timeout = Timeout.InfiniteTimeSpan; // streams stay open; stalls are detected per read
            c.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
        });
        // Every other feed request (polls, searches, backfills, rules, trends): a timeout from Microsoft.Extensions.Http.Resilience,
        // so a server that accepts and never answers fails the request and the feed's loop retries it.
        builder.Services.AddOptions<FeedHttpOptions>().BindConfiguration(FeedHttpOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<FeedHttpOptions>>(new SectionValidator<FeedHttpOptions>(FeedHttpOptions.Section, o => o.Validate()));
        builder.Services.AddHttpClient(FeedHttpOptions.RestClient, c =>
            {
                c.Timeout = Timeout.InfiniteTimeSpan; // the resilience handler's timeout is the one that applies
                c.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
            })
            .AddResilienceHandler(FeedHttpOptions.RestClient, (pipeline, context) =>
                pipeline.AddTimeout(TimeSpan.FromSeconds(context.ServiceProvider.GetRequiredService<IOptions<FeedHttpOptions>>().Value.RestTimeoutSeconds)));

        builder.Services.AddOptions<JetstreamOptions>().BindConfiguration(JetstreamOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<JetstreamOptions>>(new SectionValidator<JetstreamOptions>(JetstreamOptions.Section, o => o.Validate()));
        builder.Services.AddOptions<XOptions>().BindConfiguration(XOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<XOptions>>(new SectionValidator<XOptions>(XOptions.Section, o => o.Validate()));
        builder.Services.AddOptions<MastodonOptions>().BindConfiguration(MastodonOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<MastodonOptions>>(new SectionValidator<MastodonOptions>(MastodonOptions.Section, o => o.Validate()));
        builder.Services.AddOptions<RssOptions>().BindConfiguration(RssOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RssOptions>>(new SectionValidator<RssOptions>(RssOptions.Section, o => o.Validate()));

        builder.Services.AddOptions<ReplayOptions>().BindConfiguration(ReplayOptions.Section)
            .PostConfigure(o => o.Path = ResolveBundled(o.Path))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ReplayOptions>>(new SectionValidator<ReplayOptions>(
            ReplayOptions.Section,
            o => o.Runs && !File.Exists(o.Path) ? [$"{ReplayOptions.Section}:Path: file '{Path.GetFullPath(o.Path)}' does not exist."] : []));

        // The feeds' reconnect and poll pipelines, registered once by name (each loop's backoff travels in its context).
        foreach (var name in FeedResilience.Names)
        {
            builder.Services.AddResiliencePipeline(name, (pipeline, _) => pipeline.AddFeedRetry(name));
        }

        // Which feeds run is decided from the same bound, validated options they run with (no copy read here).
        builder.Services.AddSingleton<IReadOnlyList<IFeedSource>>(CreateFeeds);
    }

    /// <summary>Every feed whose options say it <c>Runs</c>: on (<c>Enabled</c>, the default) and configured.</summary>
    private static IReadOnlyList<IFeedSource> CreateFeeds(IServiceProvider sp)
    {
        var feeds = new List<IFeedSource>();
        var x = sp.GetRequiredService<IOptions<XOptions>>().Value;
        if (x.Runs)
        {
            feeds.Add(new XFeedSource(
                x, Http(sp, "feeds-streaming"), sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<FeedHealthRegistry>(),
                sp.GetRequiredService<TrendRegistry>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<XFeedSource>>(), Http(sp, FeedHttpOptions.RestClient), Pipelines(sp)));
        }

        var mastodon = sp.GetRequiredService<IOptions<MastodonOptions>>().Value;
        if (mastodon.Runs)
        {
            feeds.Add(new MastodonFeedSource(
                mastodon, Http(sp, "feeds-streaming"), sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<FeedHealthRegistry>(),
                sp.GetRequiredService<TrendRegistry>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<MastodonFeedSource>>(), Http(sp, FeedHttpOptions.RestClient), Pipelines(sp)));
        }

        var rss = sp.GetRequiredService<IOptions<RssOptions>>().Value;
        if (rss.Runs)
        {
            feeds.Add(new RssFeedSource(
                rss, Http(sp, FeedHttpOptions.RestClient), sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<FeedHealthRegistry>().For("rss"),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RssFeedSource>>(), Pipelines(sp)));
        }

        // Live Bluesky Jetstream, with the demo replay as its stand-in when no network answers; or the replay alone.
        var replay = sp.GetRequiredService<IOptions<ReplayOptions>>().Value;
        var jetstream = sp.GetRequiredService<IOptions<JetstreamOptions>>().Value;
        ReplayFeedSource Replay() => new(replay, sp.GetRequiredService<IDeadLetterStore>(), sp.GetRequiredService<TimeProvider>());
        if (jetstream.Runs)
        {
            var live = new JetstreamFeedSource(
                jetstream, sp.GetRequiredService<ICursorStore>(), sp.GetRequiredService<IDeadLetterStore>(),
                sp.GetRequiredService<FeedHealthRegistry>().For("jetstream"), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<JetstreamFeedSource>>(), Pipelines(sp));
            feeds.Add(replay.Runs ? new FallbackFeedSource(live, live.FirstConnection.Task, Replay(), sp.GetRequiredService<ILogger<FallbackFeedSource>>()) : live);
        }
        else if (replay.Runs)
        {
            feeds.Add(Replay());
        }

        return feeds;
    }

    private static HttpClient Http(IServiceProvider sp, string name) => sp.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    private static ResiliencePipelineProvider<string> Pipelines(IServiceProvider sp) => sp.GetRequiredService<ResiliencePipelineProvider<string>>();

    /// <summary>A relative path that is not under the working directory is looked up beside the app (bundled samples).</summary>
    private static string ResolveBundled(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path))
        {
            return path;
        }

        var bundled = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(bundled) ? bundled : path;
    }
}

/// <summary>Signal labels switched off (heads trained for another embedder): posts pass unlabelled.</summary>
internal sealed class NoSignals : ISignalEnricher
{
    public string? Enrich(StreamIngest.Model.Post post) => null;
}
