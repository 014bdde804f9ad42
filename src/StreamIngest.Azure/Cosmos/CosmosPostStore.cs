using System.Collections.ObjectModel;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// The store and retriever ports on Azure Cosmos DB for NoSQL. Upserts are idempotent by id (bulk mode on the
/// process role's writes client when enabled). Throttling (429) is retried by the SDK alone, tuned by
/// <see cref="CosmosOptions.MaxRetryAttemptsOnThrottle"/>; ambiguous failures (408, 503: the write may or may not
/// have happened) are retried only for idempotent writes (upsert, delete), never for engagement updates, which
/// would count twice. Every operation's RU charge is recorded. Hybrid queries rank in the service with
/// <c>ORDER BY RANK RRF(VectorDistance, FullTextScore)</c>, filters in the WHERE clause, every value a query
/// parameter except the row limit; the same recency decay as the embedded store is applied to the candidates.
/// Retention is a per-item TTL counted from <c>created_at</c>, so <see cref="PurgeAsync"/> has nothing to do.
/// </summary>
public sealed partial class CosmosPostStore : IPostStore, IRetriever, IPostReader, IStoreFigures
{
    public const string MeterName = "StreamIngest.Cosmos";

    /// <summary>An engagement update lost to a concurrent one (412) is read and applied again, this many times.</summary>
    private const int MaxEngagementAttempts = 5;

    private readonly Container _container;
    private readonly Container _bulk;
    private readonly CosmosOptions _options;
    private readonly TimeSpan _retention;
    private readonly IEmbedder _embedder;
    private readonly HybridRanker _ranker;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _idempotentWrites;
    private readonly Histogram<double> _ru;
    private readonly Counter<long> _engagementUncertain;
    private double _writeRu;
    private long _writes_;
    private double _queryRu;
    private long _queries;

    /// <param name="container">Point reads, queries, patches.</param>
    /// <param name="bulkContainer">Upserts and deletes (the same container through the bulk client); null: <paramref name="container"/>.</param>
    public CosmosPostStore(
        Container container,
        Container? bulkContainer,
        CosmosOptions options,
        TimeSpan retention,
        IEmbedder embedder,
        HybridRanker ranker,
        IMeterFactory meters,
        TimeProvider timeProvider,
        ILogger<CosmosPostStore>? logger = null)
    {
        _container = container;
        _bulk = bulkContainer ?? container;
        _options = options;
        _retention = retention;
        _embedder = embedder;
        _ranker = ranker;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var meter = meters.Create(MeterName);
        _ru = meter.CreateHistogram<double>("streamingest.cosmos.request_charge", "RU", "Request units per Cosmos DB operation");
        _engagementUncertain = meter.CreateCounter<long>("streamingest.cosmos.engagement_uncertain", "{update}", "Engagement updates that failed ambiguously and were not retried");
        _idempotentWrites = IdempotentWritePipeline(timeProvider);
    }

    /// <summary>RU per stored post and per query so far (the cost summary).</summary>
    public (double RuPerPost, double RuPerQuery) Cost =>
        (Interlocked.Read(ref _writes_) == 0 ? 0 : _writeRu / _writes_, Interlocked.Read(ref _queries) == 0 ? 0 : _queryRu / _queries);

    /// <summary>Null: the service searches, there is no index here to count.</summary>
    int? IStoreFigures.Searchable => null;

    double? IStoreFigures.RuPerPost => Cost.RuPerPost;

    double? IStoreFigures.RuPerQuery => Cost.RuPerQuery;

    /// <summary>
    /// Whether a failed write may or may not have been applied: a timeout or an unavailable service after the
    /// request was sent. Only idempotent writes may be sent again after one of these.
    /// </summary>
    /// <summary>Throttling the SDK has already retried as configured (<c>Cosmos:MaxRetryAttemptsOnThrottle</c>): not to be retried again above it.</summary>
    public static bool IsThrottled(Exception e) => e is CosmosException { StatusCode: HttpStatusCode.TooManyRequests };

    public static bool IsAmbiguous(CosmosException e) => e.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.ServiceUnavailable;

    /// <summary>
    /// Retries for writes that are safe to repeat: ambiguous failures and 449 (retry with). Never 429: the SDK has
    /// already retried throttling as configured, and retrying it again here would multiply the wait.
    /// </summary>
    public static ResiliencePipeline IdempotentWritePipeline(TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder { Name = "cosmos-idempotent-write", TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CosmosException>(e => IsAmbiguous(e) || (int)e.StatusCode == 449),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(10),
                MaxRetryAttempts = 4,
            })
            .Build();

    public async Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();

        // With AllowBulkExecution the SDK groups these concurrent calls into bulk requests per partition.
        await Task.WhenAll(posts.Select(p => _idempotentWrites.ExecuteAsync(async ct =>
        {
            var doc = CosmosPostDocument.From(p, _options.PartitionBuckets, _retention, now);
            var response = await _bulk.UpsertItemAsync(doc, new PartitionKey(doc.PartitionKey), new ItemRequestOptions { EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
            RecordWrite(response.RequestCharge);
        }, cancellationToken).AsTask())).ConfigureAwait(false);
    }

    public async Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var deleted = await Task.WhenAll(ids.Select(id => _idempotentWrites.ExecuteAsync(async ct =>
        {
            try
            {
                var response = await _bulk.DeleteItemAsync<CosmosPostDocument>(CosmosPostDocument.DocumentId(id), new PartitionKey(CosmosPostDocument.PartitionKeyFor(id, _options.PartitionBuckets)), cancellationToken: ct).ConfigureAwait(false);
                RecordWrite(response.RequestCharge);
                return 1;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return 0;
            }
        }, cancellationToken).AsTask())).ConfigureAwait(false);
        return deleted.Sum();
    }

    /// <summary>
    /// Adds engagement to stored posts: read the item, then patch its metrics, total, remaining TTL and the
    /// positions applied under its ETag (a concurrent update makes the patch fail with 412 and it is read and
    /// applied again). Events that carry a transport position are applied once: the item keeps, per stream, the last
    /// sequence number applied, and an event at or below it is skipped, so a redelivered or retried batch (in any
    /// batching) never counts a like twice, and an ambiguous failure (408, 503) can be retried: the next read shows
    /// whether the patch landed. Events without a position (the in-process channel) are not retried after an
    /// ambiguous failure (counted in <c>streamingest.cosmos.engagement_uncertain</c> and logged). 429 is retried by
    /// the SDK alone. No failure is thrown: the batch around it has already stored its posts.
    /// </summary>
    public Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken) =>
        AddEngagementAsync(deltas.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<EngagementEvent>)[new EngagementEvent(kv.Value)], StringComparer.Ordinal), cancellationToken);

    /// <inheritdoc cref="AddEngagementAsync(IReadOnlyDictionary{string, Engagement}, CancellationToken)"/>
    public async Task<int> AddEngagementAsync(IReadOnlyDictionary<string, IReadOnlyList<EngagementEvent>> events, CancellationToken cancellationToken)
    {
        var updated = await Task.WhenAll(events.Select(kv => AddEngagementAsync(kv.Key, kv.Value, cancellationToken))).ConfigureAwait(false);
        return updated.Sum();
    }

    private async Task<int> AddEngagementAsync(string postId, IReadOnlyList<EngagementEvent> events, CancellationToken ct)
    {
        var id = CosmosPostDocument.DocumentId(postId);
        var pk = new PartitionKey(CosmosPostDocument.PartitionKeyFor(postId, _options.PartitionBuckets));
        var retriable = events.All(e => e.Position is not null);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var current = await _container.ReadItemAsync<CosmosPostDocument>(id, pk, cancellationToken: ct).ConfigureAwait(false);
                _ru.Record(current.RequestCharge);
                if (EngagementPatch(current.Resource, events, _retention, _timeProvider.GetUtcNow()) is not { } patch)
                {
                    return 0; // every event already applied
                }

                var response = await _container.PatchItemAsync<CosmosPostDocument>(
                    id,
                    pk,
                    patch,
                    new PatchItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false },
                    ct).ConfigureAwait(false);
                RecordWrite(response.RequestCharge);
                return 1;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return 0; // not stored (yet, or any more)
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed && attempt < MaxEngagementAttempts)
            {
                // Changed since the read; the patch was not applied. Read again.
            }
            catch (CosmosException e) when (retriable && IsAmbiguous(e) && attempt < MaxEngagementAttempts)
            {
                // Unknown whether it landed; the positions it would have written tell on the next read.
            }
            catch (CosmosException e)
            {
                if (IsAmbiguous(e))
                {
                    _engagementUncertain.Add(1);
                }

                LogEngagementFailed(e, postId, (int)e.StatusCode);
                return 0;
            }
        }
    }

    /// <summary>
    /// The patch that applies the events not yet applied to <paramref name="current"/> (null: none left): metrics (a
    /// whole object, so items stored without one work too), the total, the TTL left from created_at, and the last
    /// position applied per stream.
    /// </summary>
    public static IReadOnlyList<PatchOperation>? EngagementPatch(CosmosPostDocument current, IReadOnlyList<EngagementEvent> events, TimeSpan retention, DateTimeOffset now)
    {
        var seen = current.EngagementSeen ?? [];
        var fresh = events.Where(e => e.Position is null || !seen.TryGetValue(e.Position.Stream, out var applied) || e.Position.Sequence > applied).ToList();
        if (fresh.Count == 0)
        {
            return null;
        }

        var operations = EngagementPatch(current, EngagementEvent.Sum(fresh), retention, now).ToList();
        if (fresh.Any(e => e.Position is not null))
        {
            var next = new Dictionary<string, long>(seen, StringComparer.Ordinal);
            foreach (var position in fresh.Select(e => e.Position).OfType<TransportPosition>())
            {
                next[position.Stream] = Math.Max(next.GetValueOrDefault(position.Stream, long.MinValue), position.Sequence);
            }

            operations.Add(PatchOperation.Set("/engagementSeen", next));
        }

        return operations;
    }

    /// <summary>The patch for one engagement update: metrics (a whole object, so items stored without one work too), the total, and the TTL left from created_at.</summary>
    public static IReadOnlyList<PatchOperation> EngagementPatch(CosmosPostDocument current, Engagement delta, TimeSpan retention, DateTimeOffset now)
    {
        var m = current.Post.Metrics ?? new Engagement();
        var next = new Engagement(m.Likes + delta.Likes, m.Reposts + delta.Reposts, m.Replies + delta.Replies, m.Quotes + delta.Quotes);
        var operations = new List<PatchOperation>
        {
            PatchOperation.Set("/post/metrics", next),
            PatchOperation.Set("/engagement", next.Total),
        };
        if (CosmosPostDocument.TtlFor(current.CreatedAtMs, retention, now) is { } ttl)
        {
            operations.Add(PatchOperation.Set("/ttl", ttl));
        }

        return operations;
    }

    public async Task<Post?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var response = await _container.ReadOrNullAsync<CosmosPostDocument>(
            CosmosPostDocument.DocumentId(id), new PartitionKey(CosmosPostDocument.PartitionKeyFor(id, _options.PartitionBuckets)), cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return null;
        }

        _ru.Record(response.RequestCharge);
        var post = response.Resource.Post;
        post.Embedding = response.Resource.Embedding;
        return post;
    }

    public async Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (string, float[])>(StringComparer.Ordinal);
        if (contentHashes.Count == 0)
        {
            return found;
        }

        var query = new QueryDefinition("SELECT c.contentHash, c.postId, c.embedding, c.createdAtMs FROM c WHERE ARRAY_CONTAINS(@hashes, c.contentHash) AND IS_DEFINED(c.embedding)")
            .WithParameter("@hashes", contentHashes.ToArray());
        foreach (var row in (await QueryAsync<HashRow>(query, cancellationToken).ConfigureAwait(false)).OrderBy(r => r.CreatedAtMs))
        {
            if (row.Embedding is not null)
            {
                found.TryAdd(row.ContentHash, (row.PostId, row.Embedding));
            }
        }

        return found;
    }

    public async Task<IReadOnlyList<Post>> ListByEntityAsync(EntityFilter entity, DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync<SearchRow>(BuildEntityQuery(entity, since, until, limit), cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => r.Post)];
    }

    /// <summary>
    /// Posts stored without a vector. The embedding and the post body are outside the range index, so this query scans
    /// the posts: the re-embedding sweep runs it only after embeddings failed (and once at start).
    /// </summary>
    public const string UnembeddedQuery = "SELECT TOP @n c.post FROM c WHERE IS_DEFINED(c.postId) AND (NOT IS_DEFINED(c.embedding) OR IS_NULL(c.embedding)) AND NOT IS_DEFINED(c.post.duplicate_of)";

    public async Task<IReadOnlyList<Post>> ListUnembeddedAsync(int limit, CancellationToken cancellationToken) =>
        [.. (await QueryAsync<SearchRow>(new QueryDefinition(UnembeddedQuery).WithParameter("@n", limit), cancellationToken).ConfigureAwait(false)).Select(r => r.Post).OrderBy(p => p.CreatedAt)];

    /// <summary>A patch of <c>/embedding</c> alone per post, so engagement and its positions are left as they are.</summary>
    public async Task SetEmbeddingsAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken) =>
        await Task.WhenAll(posts.Where(p => p.Embedding is not null).Select(p => _container.PatchItemAsync<CosmosPostDocument>(
            CosmosPostDocument.DocumentId(p.Id), new PartitionKey(CosmosPostDocument.PartitionKeyFor(p.Id, _options.PartitionBuckets)),
            [PatchOperation.Set("/embedding", p.Embedding)], new PatchItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken))).ConfigureAwait(false);

    public async Task<IReadOnlyList<Post>> ListRecentAsync(DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        var query = new QueryDefinition($"SELECT TOP {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)} c.post FROM c WHERE IS_DEFINED(c.postId) AND c.createdAtMs >= @since AND c.createdAtMs <= @until ORDER BY c.createdAtMs DESC")
            .WithParameter("@since", since.ToUnixTimeMilliseconds())
            .WithParameter("@until", until.ToUnixTimeMilliseconds());
        return [.. (await QueryAsync<SearchRow>(query, cancellationToken).ConfigureAwait(false)).Select(r => r.Post)];
    }

    /// <summary>Posts mentioning an entity in a window, newest first: the range-indexed tags and createdAtMs in WHERE, values as parameters.</summary>
    public static QueryDefinition BuildEntityQuery(EntityFilter entity, DateTimeOffset since, DateTimeOffset until, int limit) =>
        new QueryDefinition($"SELECT TOP {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)} c.post FROM c WHERE ARRAY_CONTAINS(c.tags, @tag) AND c.createdAtMs >= @since AND c.createdAtMs <= @until ORDER BY c.createdAtMs DESC")
            .WithParameter("@tag", CosmosPostDocument.TagOf(entity.Kind, entity.Value))
            .WithParameter("@since", since.ToUnixTimeMilliseconds())
            .WithParameter("@until", until.ToUnixTimeMilliseconds());

    /// <summary>Posts only: cursor, dead-letter and other side documents in the container have no <c>postId</c>.</summary>
    public const string CountQuery = "SELECT VALUE COUNT(1) FROM c WHERE IS_DEFINED(c.postId)";

    /// <summary>
    /// The number of posts, from a cross-partition <c>COUNT</c> that fans out to every physical partition: asked at most
    /// once per <see cref="CosmosOptions.CountCacheSeconds"/> per replica, however often the dashboard polls.
    /// </summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        if (_count is { } cached && now - cached.At < TimeSpan.FromSeconds(_options.CountCacheSeconds))
        {
            return cached.Count;
        }

        var count = (await QueryAsync<long>(new QueryDefinition(CountQuery), cancellationToken).ConfigureAwait(false)).Sum();
        _count = new CachedCount(count, now);
        return count;
    }

    private volatile CachedCount? _count;

    private sealed record CachedCount(long Count, DateTimeOffset At);

    /// <summary>Expiry is each item's TTL (what is left of retention from created_at); nothing to purge by hand.</summary>
    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult(0);

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var n = Math.Max(40, query.K * (query.CollapseDuplicates ? 4 : 2)) * (query.Filter.IsEmpty ? 1 : 5);
        var timer = new SearchStageTimer(_ranker.TimeProvider);
        var vector = query.Mode == SearchMode.Keyword ? null : await _embedder.EmbedQueryAsync(query.Text, cancellationToken).ConfigureAwait(false);
        if (vector is not null)
        {
            timer.Lap(SearchStages.Embed);
        }

        var definition = BuildSearchQuery(query, n, vector);
        if (definition is null)
        {
            return new SearchResult([], 0, query.Mode, timer.Stages);
        }

        var rows = await QueryAsync<SearchRow>(definition, cancellationToken).ConfigureAwait(false);
        timer.Lap(SearchStages.Query);
        var posts = new Dictionary<string, Post>(StringComparer.Ordinal);
        var ranked = new List<Candidate>(rows.Count);
        foreach (var row in rows.Where(r => query.Filter.Accepts(r.Post)))
        {
            posts[row.Post.Id] = row.Post;
            ranked.Add(new Candidate(row.Post.Id, row.Similarity ?? 0));
        }

        // The service already fused the lists; its order becomes the fused rank, then recency and engagement apply.
        var hits = query.Mode == SearchMode.Keyword
            ? _ranker.Rank([], ranked, posts, query.K, query.CollapseDuplicates, minRelevance: query.MinRelevance, question: query.Text)
            : _ranker.Rank(ranked, [], posts, query.K, query.CollapseDuplicates, minRelevance: query.MinRelevance, question: query.Text);
        timer.Lap(SearchStages.Rank);
        return new SearchResult(hits, rows.Count, query.Mode, timer.Stages);
    }

    /// <summary>
    /// The Cosmos SQL for a search: filters in WHERE, TOP n, ranking by mode; every value a parameter except n.
    /// <list type="bullet">
    /// <item>Keyword mode filters with <c>FullTextContainsAny</c>: <c>FullTextScore</c> only orders, so without the filter
    /// posts with none of the terms come back too (https://learn.microsoft.com/azure/cosmos-db/query/fulltextscore).
    /// Hybrid mode does not filter: a post may match by meaning alone.</item>
    /// <item>The row limit is an inlined integer (computed here, never user text): ranked queries are distributed from
    /// the query plan and need a literal limit, as the EF Core Cosmos provider found (dotnet/efcore#35867).</item>
    /// </list>
    /// </summary>
    public static QueryDefinition? BuildSearchQuery(SearchQuery query, int n, float[]? vector)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var terms = SearchTerms(query.Text);
        if (query.Mode == SearchMode.Keyword && terms.Count == 0)
        {
            return null;
        }

        var termParams = string.Join(", ", terms.Select((_, i) => $"@t{i}"));
        // Posts only: watches, events, cursors and keys share the container, and some carry createdAtMs too.
        var where = new List<string> { "IS_DEFINED(c.postId)", "c.createdAtMs >= @since", "c.createdAtMs <= @until" };
        if (query.Mode == SearchMode.Keyword)
        {
            where.Add($"FullTextContainsAny(c.text, {termParams})");
        }

        if (query.Source is not null)
        {
            where.Add("c.source = @source");
        }

        if (query.Lang is not null)
        {
            where.Add("c.lang = @lang");
        }

        if (query.Entity is not null)
        {
            where.Add("ARRAY_CONTAINS(c.tags, @tag)");
        }

        var useText = query.Mode != SearchMode.Vector && terms.Count > 0;
        var top = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var select = vector is null ? $"SELECT TOP {top} c.post" : $"SELECT TOP {top} c.post, VectorDistance(c.embedding, @v) AS similarity";
        var order = (query.Mode, useText) switch
        {
            (SearchMode.Keyword, _) => $"ORDER BY RANK FullTextScore(c.text, {termParams})",
            (SearchMode.Vector, _) or (SearchMode.Hybrid, false) => "ORDER BY VectorDistance(c.embedding, @v)",
            _ => $"ORDER BY RANK RRF(VectorDistance(c.embedding, @v), FullTextScore(c.text, {termParams}))",
        };
        var definition = new QueryDefinition($"{select} FROM c WHERE {string.Join(" AND ", where)} {order}")
            .WithParameter("@since", query.Since?.ToUnixTimeMilliseconds() ?? 0)
            .WithParameter("@until", query.Until?.ToUnixTimeMilliseconds() ?? long.MaxValue);
        if (vector is not null)
        {
            definition = definition.WithParameter("@v", vector);
        }

        if (query.Source is not null)
        {
            definition = definition.WithParameter("@source", query.Source);
        }

        if (query.Lang is not null)
        {
            definition = definition.WithParameter("@lang", query.Lang);
        }

        if (query.Entity is { } e)
        {
            definition = definition.WithParameter("@tag", CosmosPostDocument.TagOf(e.Kind, e.Value));
        }

        for (var i = 0; i < terms.Count; i++)
        {
            definition = definition.WithParameter($"@t{i}", terms[i]);
        }

        return definition;
    }

    private static List<string> SearchTerms(string text) =>
        [.. text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => new string([.. w.Where(char.IsLetterOrDigit)]).ToLowerInvariant())
            .Where(w => w.Length > 1)
            .Distinct(StringComparer.Ordinal)
            .Take(16)];

    private async Task<List<T>> QueryAsync<T>(QueryDefinition query, CancellationToken ct)
    {
        var list = new List<T>();
        using var iterator = _container.GetItemQueryIterator<T>(query);
        var charge = 0.0;
        while (iterator.HasMoreResults)
        {
            var page = await iterator.ReadNextAsync(ct).ConfigureAwait(false);
            charge += page.RequestCharge;
            list.AddRange(page);
        }

        _ru.Record(charge);
        Interlocked.Increment(ref _queries);
        InterlockedAdd(ref _queryRu, charge);
        return list;
    }

    private void RecordWrite(double charge)
    {
        _ru.Record(charge);
        Interlocked.Increment(ref _writes_);
        InterlockedAdd(ref _writeRu, charge);
    }

    private static void InterlockedAdd(ref double target, double value)
    {
        double seen, next;
        do
        {
            seen = target;
            next = seen + value;
        }
        while (Interlocked.CompareExchange(ref target, next, seen) != seen);
    }

    /// <summary>
    /// Creates the database and container with the policies of infra/main.bicep (for emulators and first runs),
    /// and refuses to run against an existing container whose vector index type differs from the configured one:
    /// the vector indexes of a container cannot be changed in place (https://learn.microsoft.com/azure/cosmos-db/index-vector-data),
    /// so a different choice needs a new container (and a re-ingest).
    /// </summary>
    public static async Task<Container> EnsureContainerAsync(CosmosClient client, CosmosOptions options, TimeSpan retention, CancellationToken ct, ILogger? logger = null)
    {
        // An emulator that lacks vector or full-text policies refuses the definition. Stated fallback: the container
        // without them, so the roles start; ingest, point reads and windowed reads work, and vector, keyword and hybrid
        // searches fail with the service's own error until a real account serves them.
        var response = await CosmosStateContainer.CreateIfMissingAsync(
            client, options, ContainerPropertiesFor(options, retention), throughput: null, () => PlainContainerPropertiesFor(options, retention),
            logger is null ? null : e => LogDegradedContainer(logger, options.Container, $"{(int)e.StatusCode}: {e.Message.Split('\n')[0]}"), ct).ConfigureAwait(false);

        if (response.StatusCode != HttpStatusCode.Created && VectorIndexMismatch(response.Resource, options) is { } mismatch)
        {
            throw new InvalidOperationException(mismatch);
        }

        return response.Container;
    }

    /// <summary>
    /// The container without vector or full-text policies (what an emulator lacking them gets): /pk, TTL on (each item
    /// carries its own), the embedding and the post body out of the range index.
    /// </summary>
    public static ContainerProperties PlainContainerPropertiesFor(CosmosOptions options, TimeSpan retention)
    {
        var properties = new ContainerProperties(options.Container, "/pk") { DefaultTimeToLive = retention > TimeSpan.Zero ? (int)retention.TotalSeconds : -1 };
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/embedding/*" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/post/*" });
        return properties;
    }

    /// <summary>The container definition: /pk, TTL on (each item carries its own), vector and full-text policies and indexes.</summary>
    public static ContainerProperties ContainerPropertiesFor(CosmosOptions options, TimeSpan retention)
    {
        var properties = PlainContainerPropertiesFor(options, retention);
        properties.VectorEmbeddingPolicy = new VectorEmbeddingPolicy(new Collection<Embedding>
        {
            new() { Path = "/embedding", DataType = VectorDataType.Float32, DistanceFunction = DistanceFunction.Cosine, Dimensions = options.EmbeddingDimensions },
        });
        properties.FullTextPolicy = new FullTextPolicy { DefaultLanguage = "en-US", FullTextPaths = [new FullTextPath { Path = "/text", Language = "en-US" }] };
        properties.IndexingPolicy.VectorIndexes.Add(new VectorIndexPath { Path = "/embedding", Type = VectorIndexTypeOf(options.ResolveVectorIndexType()) });
        properties.IndexingPolicy.FullTextIndexes.Add(new FullTextIndexPath { Path = "/text" });
        return properties;
    }

    /// <summary>The local models' dimensions (all-MiniLM-L6-v2, arctic-embed-xs), the default of infra/main.bicep's <c>embeddingDimensions</c>.</summary>
    public const int EmbeddingDimensions = 384;

    /// <summary>Why an existing container cannot serve this configuration, or null.</summary>
    public static string? VectorIndexMismatch(ContainerProperties existing, CosmosOptions options)
    {
        var wanted = VectorIndexTypeOf(options.ResolveVectorIndexType());
        var actual = existing.IndexingPolicy?.VectorIndexes?.FirstOrDefault(v => v.Path == "/embedding")?.Type;
        if (existing.VectorEmbeddingPolicy?.Embeddings?.FirstOrDefault(e => e.Path == "/embedding")?.Dimensions is { } dims && dims != options.EmbeddingDimensions)
        {
            return $"Cosmos container '{existing.Id}' holds {dims}-dimensional vectors but the embedder makes {options.EmbeddingDimensions} (Embedding:Provider, Embedding:OpenAI:Dimensions); a vector policy cannot be changed in place. Use a new {CosmosOptions.Section}:Container (Bicep: embeddingDimensions), or configure the embedder for {dims}.";
        }

        return actual is { } a && a != wanted
            ? $"Cosmos container '{existing.Id}' has a {a} vector index but {CosmosOptions.Section}:VectorIndexType resolves to {wanted}; a vector index cannot be changed in place. Use a new {CosmosOptions.Section}:Container, or set {CosmosOptions.Section}:VectorIndexType to {a}."
            : null;
    }

    private static VectorIndexType VectorIndexTypeOf(string name) => name switch
    {
        "diskANN" => VectorIndexType.DiskANN,
        "flat" => VectorIndexType.Flat,
        _ => VectorIndexType.QuantizedFlat,
    };

    private sealed record HashRow(
        [property: System.Text.Json.Serialization.JsonPropertyName("contentHash")] string ContentHash,
        [property: System.Text.Json.Serialization.JsonPropertyName("postId")] string PostId,
        [property: System.Text.Json.Serialization.JsonPropertyName("embedding")] float[]? Embedding,
        [property: System.Text.Json.Serialization.JsonPropertyName("createdAtMs")] long CreatedAtMs);

    private sealed record SearchRow(Post Post, double? Similarity);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Warning, Message = "Cosmos container {Container} was refused with its vector and full-text policies ({Reason}); created without them: searches need an account that serves them")]
    private static partial void LogDegradedContainer(ILogger logger, string container, string reason);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "Engagement update for {PostId} failed with {Status}; not retried (it may or may not have been applied)")]
    private partial void LogEngagementFailed(Exception ex, string postId, int status);
}
