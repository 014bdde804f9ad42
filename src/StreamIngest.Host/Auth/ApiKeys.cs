using System.Security.Cryptography;
using System.Text;
using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// <c>Auto</c> (default): keys are required when any key exists or the host listens beyond loopback (where it
    /// refuses to start without one); off on a loopback-only host with no keys, saying so in one log line.
    /// <c>Keys</c>: always required. <c>Off</c>: never (only for a host behind its own gateway).
    /// </summary>
    public AuthMode Mode { get; set; } = AuthMode.Auto;

    /// <summary>
    /// How many api replicas share the keys (Cosmos DB mode): each replica allows a key <see cref="PerReplica"/> of its
    /// per-minute limit, so across an evenly balanced set the key gets its limit, within one request per replica per
    /// minute of rounding. With fewer replicas running than this (autoscale down), a key gets proportionally less;
    /// set it to the usual replica count (Bicep sets the api app's maximum).
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1000)]
    public int ApiReplicas { get; set; } = 1;

    /// <summary>This replica's share of a key's per-minute limit: the limit over <see cref="ApiReplicas"/>, rounded up.</summary>
    public int PerReplica(int perMinute) => (perMinute + ApiReplicas - 1) / ApiReplicas;

    /// <summary>Requests per minute for a key created without its own limit.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1_000_000)]
    public int DefaultRequestsPerMinute { get; set; } = 600;

    /// <summary>
    /// Keys given by configuration (Key Vault, app settings) as their SHA-256, for hosts whose files do not last,
    /// such as containers: <c>Auth:Keys:0:Name</c>, <c>…:Sha256</c>, <c>…:Scopes:0</c>, <c>…:RequestsPerMinute</c>.
    /// </summary>
    public ConfiguredKey[] Keys { get; set; } = [];

    /// <summary>Rules across fields: each configured key is a SHA-256 in hex with known scopes and a positive limit.</summary>
    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Keys.Length; i++)
        {
            var key = Keys[i];
            if (key.Sha256 is not { Length: 64 } hash || !hash.All(Uri.IsHexDigit))
            {
                yield return $"{Section}:Keys:{i}:Sha256 must be the key's SHA-256 as 64 hex digits.";
            }

            if (key.Scopes.Length == 0 || key.Scopes.Except(Auth.Scopes.All).FirstOrDefault() is { } unknown)
            {
                yield return $"{Section}:Keys:{i}:Scopes must name at least one of {string.Join(", ", Auth.Scopes.All)}" + (key.Scopes.Length == 0 ? "." : $" (got '{key.Scopes.Except(Auth.Scopes.All).First()}').");
            }

            if (key.RequestsPerMinute is < 1)
            {
                yield return $"{Section}:Keys:{i}:RequestsPerMinute must be at least 1.";
            }
        }
    }

    /// <summary>MCP protocol requests (initialize, notifications, tools/list, ping) a key may make a minute, beside its own limit.</summary>
    public const int ProtocolRequestsPerMinute = 120;
}

public sealed class ConfiguredKey
{
    public string Name { get; set; } = "configured";

    public string? Sha256 { get; set; }

    public string[] Scopes { get; set; } = [Auth.Scopes.Search];

    public int? RequestsPerMinute { get; set; }
}

public enum AuthMode
{
    Auto,
    Keys,
    Off,
}

/// <summary>What a key may call. <c>admin</c> may call everything.</summary>
public static class Scopes
{
    public const string Search = "search";
    public const string Ground = "ground";
    public const string Watches = "watches";
    public const string Admin = "admin";

    public static readonly string[] All = [Search, Ground, Watches, Admin];

    /// <summary>
    /// Any valid key may reach the path; what it may do there is checked per operation. <c>/mcp</c>: each tool
    /// needs the scope of its HTTP endpoint (<see cref="RequiresScopeAttribute"/>).
    /// </summary>
    public const string AnyScope = "*";

    /// <summary>The scope a path needs; null for what stays open (health, metrics, the dashboard page, the API reference).</summary>
    public static string? For(PathString path)
    {
        if (path.StartsWithSegments("/mcp"))
        {
            return AnyScope;
        }

        if (!path.StartsWithSegments("/v1"))
        {
            return null;
        }

        if (path.StartsWithSegments("/v1/ground") || path.StartsWithSegments("/v1/chat"))
        {
            return Ground;
        }

        if (path.StartsWithSegments("/v1/watches"))
        {
            return Watches;
        }

        if (path.StartsWithSegments("/v1/stats") || path.StartsWithSegments("/v1/deadletters") || path.StartsWithSegments("/v1/dashboard")
            || path.StartsWithSegments("/v1/stream"))
        {
            return Admin;
        }

        return Search; // search, posts, sentiment, stories, trends, feeds, models, usage (own)
    }
}

/// <summary>The scope a key needs to call an MCP tool: the scope of the HTTP endpoint the tool runs.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresScopeAttribute(string scope) : Attribute
{
    public string Scope { get; } = scope;
}

/// <summary>Making and recognising keys: <c>si_</c> + 32 random bytes (base64url); only the SHA-256 is stored.</summary>
public static class ApiKeys
{
    public static (string Key, ApiKeyRecord Record) Create(string name, IReadOnlyList<string> scopes, int requestsPerMinute, DateTimeOffset now)
    {
        var key = "si_" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var hash = Hash(key);
        return (key, new ApiKeyRecord("key_" + hash[..12], name, hash, scopes, requestsPerMinute, now));
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
