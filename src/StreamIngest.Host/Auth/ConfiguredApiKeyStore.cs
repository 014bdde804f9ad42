using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

/// <summary>The stored keys plus the ones configuration gives (<see cref="AuthOptions.Keys"/>), which cannot be revoked here.</summary>
public sealed class ConfiguredApiKeyStore(IApiKeyStore inner, AuthOptions options) : IApiKeyStore
{
    private readonly ApiKeyRecord[] _configured =
    [
        .. options.Keys.Where(k => !string.IsNullOrWhiteSpace(k.Sha256)).Select(k => new ApiKeyRecord(
            "cfg_" + k.Sha256![..Math.Min(12, k.Sha256!.Length)].ToLowerInvariant(), k.Name, k.Sha256!.ToLowerInvariant(), k.Scopes,
            k.RequestsPerMinute ?? options.DefaultRequestsPerMinute, DateTimeOffset.UnixEpoch)),
    ];

    public Task AddAsync(ApiKeyRecord key, CancellationToken cancellationToken) => inner.AddAsync(key, cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken) =>
        [.. _configured, .. await inner.ListAsync(cancellationToken).ConfigureAwait(false)];

    public Task<bool> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => inner.RevokeAsync(id, at, cancellationToken);
}
