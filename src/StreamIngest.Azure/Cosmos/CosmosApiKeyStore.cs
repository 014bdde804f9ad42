using System.Net;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;
using StreamIngest.Store;

namespace StreamIngest.Azure.Cosmos;

/// <summary>
/// API keys in Cosmos DB, where the posts are, so every api replica reads the same keys and a revocation reaches all
/// of them (each re-reads the list at most every 5 s). One small document per key in partition <c>_keys</c>, never
/// expiring: the key's SHA-256 (never the key), name, scopes, limit and revocation time. Listing reads that one
/// partition's feed; revoking reads the key and patches it under its ETag, so a key is revoked once and keeps its
/// first revocation time (https://learn.microsoft.com/azure/cosmos-db/nosql/database-transactions-optimistic-concurrency).
/// </summary>
public sealed class CosmosApiKeyStore(Container container) : IApiKeyStore
{
    public const string KeysPartition = "_keys";
    public const string KeyType = "api-key";

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    public static string DocumentId(string keyId) => "key-" + keyId;

    public Task AddAsync(ApiKeyRecord key, CancellationToken cancellationToken) =>
        container.CreateItemAsync(
            new KeyDocument(DocumentId(key.Id), KeysPartition, KeyType, key.Id, key.Name, key.Sha256, [.. key.Scopes], key.RequestsPerMinute,
                key.CreatedAt.ToUnixTimeMilliseconds(), key.RevokedAt?.ToUnixTimeMilliseconds(), -1),
            new PartitionKey(KeysPartition), NoContent, cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken)
    {
        // The partition's read feed: no query to plan, and the partition holds keys only.
        var keys = new List<ApiKeyRecord>();
        using var iterator = container.GetItemQueryIterator<KeyDocument>((string?)null, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(KeysPartition) });
        while (iterator.HasMoreResults)
        {
            keys.AddRange((await iterator.ReadNextAsync(cancellationToken).ConfigureAwait(false)).Where(d => d.Type == KeyType).Select(d => d.ToRecord()));
        }

        return [.. keys.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal)];
    }

    public async Task<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        try
        {
            var current = await container.ReadItemAsync<KeyDocument>(DocumentId(id), new PartitionKey(KeysPartition), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (current.Resource.RevokedAtMs is not null)
            {
                return false; // revoked already: the first revocation time stands
            }

            await container.PatchItemAsync<KeyDocument>(
                DocumentId(id),
                new PartitionKey(KeysPartition),
                [PatchOperation.Set("/revokedAtMs", at.ToUnixTimeMilliseconds())],
                new PatchItemRequestOptions { IfMatchEtag = current.ETag, EnableContentResponseOnWrite = false },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CosmosException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.PreconditionFailed)
        {
            return false; // no such key, or another revocation won the race
        }
    }

    /// <summary>A key's document.</summary>
    public sealed record KeyDocument(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("pk")] string PartitionKey,
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("keyId")] string KeyId,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("sha256")] string Sha256,
        [property: JsonPropertyName("scopes")] string[] Scopes,
        [property: JsonPropertyName("requestsPerMinute")] int RequestsPerMinute,
        [property: JsonPropertyName("createdAtMs")] long CreatedAtMs,
        [property: JsonPropertyName("revokedAtMs")] long? RevokedAtMs,
        [property: JsonPropertyName("ttl")] int Ttl)
    {
        public ApiKeyRecord ToRecord() => new(
            KeyId, Name, Sha256, Scopes, RequestsPerMinute, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs),
            RevokedAtMs is { } revoked ? DateTimeOffset.FromUnixTimeMilliseconds(revoked) : null);
    }
}
