using System.Security.Cryptography;
using System.Text;
using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

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
