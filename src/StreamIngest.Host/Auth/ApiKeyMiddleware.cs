using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

/// <summary>
/// Checks the API key of every request to a protected path (<see cref="Scopes.For"/>): from
/// <c>Authorization: Bearer</c>, <c>X-Api-Key</c>, or <c>?api_key=</c> (for browsers' EventSource), compared by
/// SHA-256 in constant time. 401 without a valid key, 403 without the scope; Problem Details, or OpenAI's envelope
/// on its paths. The key's record goes to <see cref="HttpContext.Items"/> for the rate limiter and usage. Keys are
/// re-read every 5 s, so a revoked key stops working, and on a host that is open until a key exists
/// (<paramref name="openUntilKeysExist"/>) the first key created takes effect, without a restart.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, IApiKeyStore store, UsageMeter usage, TimeProvider timeProvider, bool openUntilKeysExist)
{
    public const string ItemKey = "streamingest.api_key";

    /// <summary>Set on MCP protocol traffic (initialize, notifications, listings): charged to its own budget, not the key's.</summary>
    public const string ProtocolItemKey = "streamingest.mcp_protocol";

    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile IReadOnlyDictionary<string, ApiKeyRecord> _keys = new Dictionary<string, ApiKeyRecord>();
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    public async Task InvokeAsync(HttpContext http)
    {
        var scope = Scopes.For(http.Request.Path);
        if (scope is null || (openUntilKeysExist && (await KeysAsync(http.RequestAborted)).Count == 0))
        {
            await next(http);
            return;
        }

        var presented = Presented(http.Request);
        var key = presented is null ? null
            : presented.StartsWith("si_", StringComparison.Ordinal) ? await FindAsync(presented, http.RequestAborted)
            : await EntraCallerAsync(http) ?? await FindAsync(presented, http.RequestAborted);
        if (key is null)
        {
            http.Response.Headers.WWWAuthenticate = ProtectedResourceMetadata.Challenge(http);
            await Chat.OpenAiError.WriteAsync(
                http,
                StatusCodes.Status401Unauthorized,
                presented is null ? "An API key is required" : "The API key is not valid",
                "Send it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'. Keys are made with the host command 'keys create'.");
            return;
        }

        if (scope != Scopes.AnyScope && !key.Scopes.Contains(scope) && !key.Scopes.Contains(Scopes.Admin))
        {
            await Chat.OpenAiError.WriteAsync(
                http,
                StatusCodes.Status403Forbidden,
                "The API key lacks a scope",
                $"This call needs the '{scope}' scope; the key '{key.Name}' has: {string.Join(", ", key.Scopes)}.");
            return;
        }

        http.Items[ItemKey] = key;
        if (scope == Scopes.AnyScope && await McpJsonRpc.IsProtocolTrafficAsync(http.Request))
        {
            http.Items[ProtocolItemKey] = true;
        }

        usage.Request(key.Id);
        await next(http);
    }

    /// <summary>
    /// A bearer token that is not one of our keys, validated as an Entra ID access token when AzureAd is configured;
    /// its delegated scopes (<c>scp</c>) and app roles (<c>roles</c>) that name ours become the caller's scopes.
    /// </summary>
    private static async Task<ApiKeyRecord?> EntraCallerAsync(HttpContext http)
    {
        if (!AuthExtensions.EntraConfigured(http.RequestServices.GetRequiredService<IConfiguration>()))
        {
            return null;
        }

        var result = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!result.Succeeded)
        {
            return null;
        }

        var principal = result.Principal;
        http.User = principal;
        var granted = principal.FindAll("scp").Concat(principal.FindAll("http://schemas.microsoft.com/identity/claims/scope"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Concat(principal.FindAll("roles").Concat(principal.FindAll(ClaimTypes.Role)).Select(c => c.Value))
            .Select(s => s.ToLowerInvariant())
            .Intersect(Scopes.All)
            .ToArray();
        var subject = principal.FindFirst("oid")?.Value ?? principal.FindFirst("http://schemas.microsoft.com/identity/claims/objectidentifier")?.Value
            ?? principal.FindFirst("sub")?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? "unknown";
        var name = principal.FindFirst("azp")?.Value ?? principal.FindFirst("appid")?.Value ?? principal.FindFirst("name")?.Value ?? subject;
        var limit = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value.DefaultRequestsPerMinute;
        return new ApiKeyRecord("entra:" + subject, name, string.Empty, granted, limit, DateTimeOffset.UnixEpoch);
    }

    private static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[7..].Trim();
        }

        var header = request.Headers["X-Api-Key"].ToString();
        if (header.Length > 0)
        {
            return header.Trim();
        }

        var query = request.Query["api_key"].ToString();
        return query.Length > 0 ? query : null;
    }

    private async Task<ApiKeyRecord?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        var keys = await KeysAsync(cancellationToken);
        var hash = ApiKeys.Hash(presented);
        // The lookup is by hash, so comparing the found hash again in constant time leaks nothing about stored keys.
        return keys.TryGetValue(hash, out var key)
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(key.Sha256), Encoding.ASCII.GetBytes(hash))
            ? key
            : null;
    }

    /// <summary>The active keys by hash, re-read from the store at most every <see cref="Refresh"/>.</summary>
    private async Task<IReadOnlyDictionary<string, ApiKeyRecord>> KeysAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (now - _loadedAt > Refresh)
        {
            await _reload.WaitAsync(cancellationToken);
            try
            {
                if (now - _loadedAt > Refresh)
                {
                    _keys = (await store.ListAsync(cancellationToken)).Where(k => k.RevokedAt is null).ToDictionary(k => k.Sha256, StringComparer.Ordinal);
                    _loadedAt = now;
                }
            }
            finally
            {
                _reload.Release();
            }
        }

        return _keys;
    }
}

/// <summary>Per-key usage since the host started: requests, posts returned, upstream model tokens.</summary>
public sealed class UsageMeter(IHttpContextAccessor accessor)
{
    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);

    public void Request(string keyId) => Interlocked.Increment(ref For(keyId).Requests);

    /// <summary>Posts returned to the key of the current request (search, ground, chat, MCP tools alike).</summary>
    public void Posts(int posts)
    {
        if (accessor.HttpContext?.Items[ApiKeyMiddleware.ItemKey] is ApiKeyRecord key)
        {
            Interlocked.Add(ref For(key.Id).Posts, posts);
        }
    }

    public void Tokens(long tokens)
    {
        if (accessor.HttpContext?.Items[ApiKeyMiddleware.ItemKey] is ApiKeyRecord key)
        {
            Interlocked.Add(ref For(key.Id).UpstreamTokens, tokens);
        }
    }

    /// <summary>Tokens a remote embedder was paid for to embed the current request's question (a cached question costs none).</summary>
    public void EmbeddingTokens(long tokens)
    {
        if (accessor.HttpContext?.Items[ApiKeyMiddleware.ItemKey] is ApiKeyRecord key)
        {
            Interlocked.Add(ref For(key.Id).EmbeddingTokens, tokens);
        }
    }

    public IReadOnlyDictionary<string, (long Requests, long Posts, long UpstreamTokens, long EmbeddingTokens)> Snapshot() =>
        _counters.ToDictionary(kv => kv.Key, kv => (Interlocked.Read(ref kv.Value.Requests), Interlocked.Read(ref kv.Value.Posts), Interlocked.Read(ref kv.Value.UpstreamTokens), Interlocked.Read(ref kv.Value.EmbeddingTokens)), StringComparer.Ordinal);

    private Counters For(string keyId) => _counters.GetOrAdd(keyId, _ => new Counters());

    private sealed class Counters
    {
        public long Requests;
        public long Posts;
        public long UpstreamTokens;
        public long EmbeddingTokens;
    }
}
