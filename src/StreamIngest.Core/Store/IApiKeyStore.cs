namespace StreamIngest.Store;

/// <summary>An API key as stored: never the key itself, only its SHA-256.</summary>
public sealed record ApiKeyRecord(
    string Id,
    string Name,
    string Sha256,
    IReadOnlyList<string> Scopes,
    int RequestsPerMinute,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt = null);

/// <summary>Where API keys live (the embedded store's file; created and revoked by the <c>keys</c> host command).</summary>
public interface IApiKeyStore
{
    Task AddAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Marks a key revoked; false when no key has that id.</summary>
    Task<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);
}
