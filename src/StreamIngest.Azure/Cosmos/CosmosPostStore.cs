using System.Collections.ObjectModel;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Azure.Cosmos;
using Polly;
using Polly.Retry;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// The store and retriever ports on Azure Cosmos DB for NoSQL. Upserts are idempotent by id (bulk mode
/// when enabled); 429/503 are retried by the SDK and then by the "cosmos-write" pipeline honouring
/// retry-after; every operation's RU charge is recorded. Hybrid queries rank in the service with
/// <c>ORDER BY RANK RRF(VectorDistance, FullTextScore)</c>, filters in the WHERE clause, every value a
/// query parameter; the same recency decay as the embedded store is applied to the candidates returned.
/// Retention is the container's default TTL, so <see cref="PurgeAsync"/> has nothing to do.
/// </summary>
public sealed class CosmosPostStore : IPostStore, IRetriever
{
    public const string MeterName = "StreamIngest.Cosmos";

    private readonly Container _container;
    private readonly CosmosOptions _options;
    private readonly IEmbedder _embedder;
    private readonly HybridRanker _ranker;
    private readonly ResiliencePipeline _writes;
    private readonly Histogram<double> _ru;
    private double _writeRu;
    private long _writes_;
    private double _queryRu;
    private long _queries;

    public CosmosPostStore(Container container, CosmosOptions options, IEmbedder embedder, HybridRanker ranker, IMeterFactory meters, TimeProvider timeProvider)
    {
        _container = container;
        _options = options;
        _embedder = embedder;
        _ranker = ranker;
        _ru = meters.Create(MeterName).CreateHistogram<double>("streamingest.cosmos.request_charge", "RU", "Request units per Cosmos DB operation");
        _writes = new ResiliencePipelineBuilder { Name = "cosmos-write", TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CosmosException>(e => e.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestTimeout),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(30),
                MaxRetryAttempts = 8,
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is CosmosException { RetryAfter: { } after } ? after : (TimeSpan?)null),
            })
            .Build();
    }

    /// <summary>RU per stored post and per query so far (the cost summary).</summary>
    public (double RuPerPost, double RuPerQuery) Cost =>
        (Interlocked.Read(ref _writes_) == 0 ? 0 : _writeRu / _writes_, Interlocked.Read(ref _queries) == 0 ? 0 : _queryRu / _queries);

    public async Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
    {
        // With AllowBulkExecution the SDK groups these concurrent calls into bulk requests per partition.
        await Task.WhenAll(posts.Select(p => _writes.ExecuteAsync(async ct =>
        {
            var doc = CosmosPostDocument.From(p, _options.PartitionBuckets);
            var response = await _container.UpsertItemAsync(doc, new PartitionKey(doc.PartitionKey), new ItemRequestOptions { EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
            RecordWrite(response.RequestCharge);
        }, cancellationToken).AsTask())).ConfigureAwait(false);
    }

    public async Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var deleted = await Task.WhenAll(ids.Select(id => _writes.ExecuteAsync(async ct =>
        {
            try
            {
                var response = await _container.DeleteItemAsync<CosmosPostDocument>(CosmosPostDocument.EscapeId(id), new PartitionKey(CosmosPostDocument.PartitionKeyFor(id, _options.PartitionBuckets)), cancellationToken: ct).ConfigureAwait(false);
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

    public async Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken)
    {
        var updated = await Task.WhenAll(deltas.Select(kv => _writes.ExecuteAsync(async ct =>
        {
            var d = kv.Value;
            try
            {
                var response = await _container.PatchItemAsync<CosmosPostDocument>(
                    CosmosPostDocument.EscapeId(kv.Key),
                    new PartitionKey(CosmosPostDocument.PartitionKeyFor(kv.Key, _options.PartitionBuckets)),
                    [
                        PatchOperation.Increment("/engagement", d.Total),
                        PatchOperation.Increment("/post/metrics/likes", d.Likes),
                        PatchOperation.Increment("/post/metrics/reposts", d.Reposts),
                        PatchOperation.Increment("/post/metrics/replies", d.Replies),
                        PatchOperation.Increment("/post/metrics/quotes", d.Quotes),
                    ],
                    new PatchItemRequestOptions { EnableContentResponseOnWrite = false },
                    ct).ConfigureAwait(false);
                RecordWrite(response.RequestCharge);
                return 1;
            }
            catch (CosmosException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
            {
                return 0; // not stored (yet), or stored without a metrics object
            }
        }, cancellationToken).AsTask())).ConfigureAwait(false);
        return updated.Sum();
    }

    public async Task<Post?> GetAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _container.ReadItemAsync<CosmosPostDocument>(
                CosmosPostDocument.EscapeId(id), new PartitionKey(CosmosPostDocument.PartitionKeyFor(id, _options.PartitionBuckets)), cancellationToken: cancellationToken).ConfigureAwait(false);
            _ru.Record(response.RequestCharge);
            var post = response.Resource.Post;
            post.Embedding = response.Resource.Embedding;
            return post;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
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

    public async Task<long> CountAsync(CancellationToken cancellationToken) =>
        (await QueryAsync<long>(new QueryDefinition("SELECT VALUE COUNT(1) FROM c"), cancellationToken).ConfigureAwait(false)).Sum();

    /// <summary>Expiry is the container's default TTL (= retention); nothing to purge by hand.</summary>
    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult(0);

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var n = Math.Max(40, query.K * (query.CollapseDuplicates ? 4 : 2));
        var definition = BuildSearchQuery(query, n, query.Mode == SearchMode.Keyword ? null : (await _embedder.EmbedAsync([query.Text], cancellationToken).ConfigureAwait(false))[0]);
        if (definition is null)
        {
            return new SearchResult([], 0, query.Mode);
        }

        var rows = await QueryAsync<SearchRow>(definition, cancellationToken).ConfigureAwait(false);
        var posts = new Dictionary<string, Post>(StringComparer.Ordinal);
        var ranked = new List<Candidate>(rows.Count);
        foreach (var row in rows)
        {
            posts[row.Post.Id] = row.Post;
            ranked.Add(new Candidate(row.Post.Id, row.Similarity ?? 0));
        }

        // The service already fused the lists; its order becomes the fused rank, then recency and engagement apply.
        var hits = query.Mode == SearchMode.Keyword
            ? _ranker.Rank([], ranked, posts, query.K, query.CollapseDuplicates)
            : _ranker.Rank(ranked, [], posts, query.K, query.CollapseDuplicates);
        return new SearchResult(hits, rows.Count, query.Mode);
    }

    /// <summary>The Cosmos SQL for a search: filters in WHERE, TOP n, ranking by mode; every value a parameter.</summary>
    public static QueryDefinition? BuildSearchQuery(SearchQuery query, int n, float[]? vector)
    {
        var terms = SearchTerms(query.Text);
        if (query.Mode != SearchMode.Vector && terms.Count == 0 && query.Mode == SearchMode.Keyword)
        {
            return null;
        }

        var where = new List<string> { "c.createdAtMs >= @since", "c.createdAtMs <= @until" };
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

        var termParams = string.Join(", ", terms.Select((_, i) => $"@t{i}"));
        var useText = query.Mode != SearchMode.Vector && terms.Count > 0;
        var select = vector is null ? "SELECT TOP @n c.post" : "SELECT TOP @n c.post, VectorDistance(c.embedding, @v) AS similarity";
        var order = (query.Mode, useText) switch
        {
            (SearchMode.Keyword, _) => $"ORDER BY RANK FullTextScore(c.text, {termParams})",
            (SearchMode.Vector, _) or (SearchMode.Hybrid, false) => "ORDER BY VectorDistance(c.embedding, @v)",
            _ => $"ORDER BY RANK RRF(VectorDistance(c.embedding, @v), FullTextScore(c.text, {termParams}))",
        };
        var definition = new QueryDefinition($"{select} FROM c WHERE {string.Join(" AND ", where)} {order}")
            .WithParameter("@n", n)
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
            definition = definition.WithParameter("@tag", $"{e.Kind switch { EntityKind.Hashtag => "h", EntityKind.Cashtag => "c", _ => "m" }}:{e.Value}");
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

    /// <summary>Creates the database and container with the policies of infra/main.bicep (for emulators and first runs).</summary>
    public static async Task<Container> EnsureContainerAsync(CosmosClient client, CosmosOptions options, TimeSpan retention, CancellationToken ct)
    {
        var database = (await client.CreateDatabaseIfNotExistsAsync(options.Database, cancellationToken: ct).ConfigureAwait(false)).Database;
        var properties = new ContainerProperties(options.Container, "/pk")
        {
            DefaultTimeToLive = retention > TimeSpan.Zero ? (int)retention.TotalSeconds : -1,
            VectorEmbeddingPolicy = new VectorEmbeddingPolicy(new Collection<Embedding>
            {
                new() { Path = "/embedding", DataType = VectorDataType.Float32, DistanceFunction = DistanceFunction.Cosine, Dimensions = 384 },
            }),
            FullTextPolicy = new FullTextPolicy { DefaultLanguage = "en-US", FullTextPaths = [new FullTextPath { Path = "/text", Language = "en-US" }] },
        };
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/embedding/*" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/post/*" });
        properties.IndexingPolicy.VectorIndexes.Add(new VectorIndexPath
        {
            Path = "/embedding",
            Type = string.Equals(options.VectorIndexType, "diskANN", StringComparison.OrdinalIgnoreCase) ? VectorIndexType.DiskANN : VectorIndexType.QuantizedFlat,
        });
        properties.IndexingPolicy.FullTextIndexes.Add(new FullTextIndexPath { Path = "/text" });
        return (await database.CreateContainerIfNotExistsAsync(properties, cancellationToken: ct).ConfigureAwait(false)).Container;
    }

    private sealed record HashRow(
        [property: System.Text.Json.Serialization.JsonPropertyName("contentHash")] string ContentHash,
        [property: System.Text.Json.Serialization.JsonPropertyName("postId")] string PostId,
        [property: System.Text.Json.Serialization.JsonPropertyName("embedding")] float[]? Embedding,
        [property: System.Text.Json.Serialization.JsonPropertyName("createdAtMs")] long CreatedAtMs);

    private sealed record SearchRow(Post Post, double? Similarity);
}
