using System.Net;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// Entity counts per bucket as small documents in the posts container (one per entity and 5-minute bucket, partition
/// per bucket, expiring after two days by TTL): an increment patch, or a create when the bucket is new (a create that
/// lost a race becomes a patch). Counts are a signal: like any increment they are not retried on an ambiguous failure.
/// </summary>
public sealed class CosmosEntityCountStore(Container container) : IEntityCountStore
{
    public const string Type = "entity-count";
    public const int TtlSeconds = 2 * 24 * 3600;

    public async Task AddAsync(IReadOnlyList<EntityCount> counts, CancellationToken cancellationToken) =>
        await Task.WhenAll(counts.Select(c => AddOneAsync(c, cancellationToken))).ConfigureAwait(false);

    private async Task AddOneAsync(EntityCount c, CancellationToken ct)
    {
        var doc = CountDocument.From(c);
        var pk = new PartitionKey(doc.Pk);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await container.PatchItemAsync<CountDocument>(doc.Id, pk, Increments(c), new PatchItemRequestOptions { EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
                return;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                try
                {
                    await container.CreateItemAsync(doc, pk, new ItemRequestOptions { EnableContentResponseOnWrite = false }, ct).ConfigureAwait(false);
                    return;
                }
                catch (CosmosException conflict) when (conflict.StatusCode == HttpStatusCode.Conflict)
                {
                    // Another writer created the bucket first: increment it.
                }
            }
        }
    }

    public static IReadOnlyList<PatchOperation> Increments(EntityCount c) =>
    [
        PatchOperation.Increment("/posts", c.Posts),
        PatchOperation.Increment("/sentimentSum", c.SentimentSum),
        PatchOperation.Increment("/sentimentPosts", c.SentimentPosts),
        PatchOperation.Set("/ttl", TtlSeconds),
    ];

    public static QueryDefinition ReadQuery(DateTimeOffset since) =>
        new QueryDefinition("SELECT c.entity, c.bucketMs, c.posts, c.sentimentSum, c.sentimentPosts FROM c WHERE c.type = @type AND c.bucketMs >= @since")
            .WithParameter("@type", Type)
            .WithParameter("@since", since.ToUnixTimeMilliseconds());

    public async Task<IReadOnlyList<EntityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var list = new List<EntityCount>();
        using var iterator = container.GetItemQueryIterator<CountRow>(ReadQuery(since));
        while (iterator.HasMoreResults)
        {
            foreach (var r in await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(new EntityCount(r.Entity, DateTimeOffset.FromUnixTimeMilliseconds(r.BucketMs), r.Posts, r.SentimentSum, r.SentimentPosts));
            }
        }

        return list;
    }

    /// <summary>Expiry is each count document's TTL.</summary>
    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => Task.FromResult(0);

    public sealed record CountDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("entity")] string Entity,
        [property: JsonPropertyName("bucketMs")] long BucketMs,
        [property: JsonPropertyName("posts")] long Posts,
        [property: JsonPropertyName("sentimentSum")] double SentimentSum,
        [property: JsonPropertyName("sentimentPosts")] long SentimentPosts,
        [property: JsonPropertyName("ttl")] int Ttl)
    {
        public static CountDocument From(EntityCount c)
        {
            var bucket = c.Bucket.ToUnixTimeMilliseconds();
            return new("count-" + CosmosPostDocument.DocumentId($"{c.Entity}|{bucket}"), $"_counts-{bucket}", CosmosEntityCountStore.Type, c.Entity, bucket, c.Posts, c.SentimentSum, c.SentimentPosts, TtlSeconds);
        }
    }

    private sealed record CountRow(
        [property: JsonPropertyName("entity")] string Entity,
        [property: JsonPropertyName("bucketMs")] long BucketMs,
        [property: JsonPropertyName("posts")] long Posts,
        [property: JsonPropertyName("sentimentSum")] double SentimentSum,
        [property: JsonPropertyName("sentimentPosts")] long SentimentPosts);
}
