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
