using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>Per-source resume positions as small documents in the state container (partition "_cursors", never expiring).</summary>
public sealed class CosmosCursorStore(Container container, TimeProvider timeProvider) : ICursorStore
{
    private const string Partition = "_cursors";

    public async Task<string?> GetAsync(string source, CancellationToken cancellationToken) =>
        (await container.ReadOrNullAsync<CursorDocument>("cursor-" + CosmosPostDocument.DocumentId(source), new PartitionKey(Partition), cancellationToken).ConfigureAwait(false))?.Resource.Cursor;

    public Task SetAsync(string source, string cursor, CancellationToken cancellationToken) =>
        container.UpsertItemAsync(
            new CursorDocument("cursor-" + CosmosPostDocument.DocumentId(source), Partition, source, cursor, timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), -1),
            new PartitionKey(Partition), new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    private sealed record CursorDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("source")] string Source,
        [property: JsonPropertyName("cursor")] string Cursor,
        [property: JsonPropertyName("updatedAtMs")] long UpdatedAtMs,
        [property: JsonPropertyName("ttl")] int Ttl);
}

/// <summary>Dead letters as documents in the state container (partition "_deadletters"), each expiring after <paramref name="retention"/>.</summary>
public sealed class CosmosDeadLetterStore(Container container, TimeSpan retention) : IDeadLetterStore
{
    private const string Partition = "_deadletters";
    private readonly int _ttl = (int)Math.Max(1, retention.TotalSeconds);

    public const string ListQuery = "SELECT TOP @n * FROM c WHERE c.pk = @pk ORDER BY c.atMs DESC";

    public Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken) =>
        container.CreateItemAsync(
            new DeadLetterDocument(Guid.NewGuid().ToString("N"), Partition, deadLetter.At.ToUnixTimeMilliseconds(), deadLetter, _ttl),
            new PartitionKey(Partition), new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        var query = new QueryDefinition(ListQuery).WithParameter("@n", limit).WithParameter("@pk", Partition);
        var list = new List<DeadLetter>();
        using var iterator = container.GetItemQueryIterator<DeadLetterDocument>(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(Partition) });
        while (iterator.HasMoreResults)
        {
            list.AddRange((await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false)).Select(d => d.Letter));
        }

        return list;
    }

    private sealed record DeadLetterDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string Pk,
        [property: JsonPropertyName("atMs")] long AtMs,
        [property: JsonPropertyName("letter")] DeadLetter Letter,
        [property: JsonPropertyName("ttl")] int Ttl);
}
