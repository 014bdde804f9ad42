using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

/// <summary>API keys, per-key rate limits (ASP.NET Core rate limiting) and usage, wired into the host.</summary>
public static class AuthExtensions
{
    public static void AddApiKeys(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<AuthOptions>>(new SectionValidator<AuthOptions>(AuthOptions.Section, o => o.Validate()));
        if (EntraConfigured(builder.Configuration))
        {
            // Entra ID (Azure AD) access tokens as well as keys: Microsoft.Identity.Web validates issuer, audience
            // (AzureAd:ClientId) and signature; the token's scp/roles name the scopes (search, ground, watches, admin).
            builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddMicrosoftIdentityWebApi(builder.Configuration.GetSection(EntraSection));
            // Audiences stated, not left to defaults: v2 tokens carry the client id, v1 tokens the App ID URI.
            var clientId = builder.Configuration[$"{EntraSection}:ClientId"]!;
            string?[] audiences = [clientId, clientId.StartsWith("api://", StringComparison.Ordinal) ? null : $"api://{clientId}", builder.Configuration[$"{EntraSection}:Audience"]];
            builder.Services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
                o.TokenValidationParameters.ValidAudiences = [.. audiences.OfType<string>().Distinct(StringComparer.Ordinal)]);
        }

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<UsageMeter>();
        // Keys live where the posts live: in Cosmos DB every api replica sees the same keys and every revocation.
        builder.Services.AddSingleton<IApiKeyStore>(sp => new ConfiguredApiKeyStore(
            KeysInCosmos(builder.Configuration)
                ? new StreamIngest.Azure.Cosmos.CosmosApiKeyStore(sp.GetRequiredService<StreamIngest.Azure.Cosmos.CosmosContainers>().State)
                : new SqliteApiKeyStore(sp.GetService<SqliteDatabase>() ?? new SqliteDatabase(KeysFile(builder.Configuration))),
            sp.GetRequiredService<IOptions<AuthOptions>>().Value));
        builder.Services.AddRateLimiter(o =>
        {
            // One token bucket per key, refilled each minute; requests without a key (open paths) are not limited here.
            // MCP protocol traffic (initialize, notifications, listings) has a bucket of its own per key,
            // ProtocolRequestsPerMinute, so connecting never spends the key's calls.
            // Each api replica enforces its share of the limit (Auth:ApiReplicas), so the limit holds across replicas.
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.Items[ApiKeyMiddleware.ItemKey] is not ApiKeyRecord key ? RateLimitPartition.GetNoLimiter("open")
                : http.Items.ContainsKey(ApiKeyMiddleware.ProtocolItemKey) ? Bucket(key.Id + "#mcp-protocol", Share(http, AuthOptions.ProtocolRequestsPerMinute))
                : Bucket(key.Id, Share(http, key.RequestsPerMinute)));
            o.OnRejected = async (context, cancellationToken) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60);
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Chat.OpenAiError.WriteAsync(
                    context.HttpContext,
                    StatusCodes.Status429TooManyRequests,
                    "Rate limit reached",
                    $"This key may make {(context.HttpContext.Items[ApiKeyMiddleware.ItemKey] as ApiKeyRecord)?.RequestsPerMinute} requests per minute; retry after {Math.Ceiling(retry.TotalSeconds)} s.");
            };
        });
    }

    private static int Share(HttpContext http, int perMinute) => http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.PerReplica(perMinute);

    private static RateLimitPartition<string> Bucket(string partition, int perMinute) =>
        RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    /// <summary>
    /// Turns key checks on or off (see <see cref="AuthOptions.Mode"/>) and says which in one log line; refuses to
    /// start a host that listens beyond loopback with no key to check.
    /// </summary>
    public static void UseApiKeys(this WebApplication app, bool runsApi)
    {
        if (!runsApi)
        {
            return; // an ingest or process role serves health and metrics only
        }

        var options = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("StreamIngest.Auth");
        var urls = (app.Configuration["urls"] ?? "http://localhost:5000").Split(';', StringSplitOptions.RemoveEmptyEntries);
        var loopbackOnly = urls.All(IsLoopback);
        var keys = options.Mode == AuthMode.Off ? 0 : app.Services.GetRequiredService<IApiKeyStore>().ListAsync(CancellationToken.None).GetAwaiter().GetResult().Count(k => k.RevokedAt is null);
        var entra = EntraConfigured(app.Configuration);
        var required = options.Mode switch
        {
            AuthMode.Keys => true,
            AuthMode.Off => false,
            _ => keys > 0 || entra || !loopbackOnly,
        };
        if (required && keys == 0 && !entra && !loopbackOnly)
        {
            throw new Hosting.HostStartRefusedException(
                $"The host listens on {string.Join(", ", urls)}, beyond loopback, and has no API key. Create one with " +
                "'dotnet run --project src/StreamIngest.Host -- keys create --name <app> --scopes search,ground', or configure Entra ID " +
                $"tokens ({EntraSection}:Instance, {EntraSection}:TenantId, {EntraSection}:ClientId), or set Auth:Mode=Off " +
                "only behind a gateway that authenticates callers.");
        }

        if (options.Mode == AuthMode.Off)
        {
            logger.LogWarning("API keys are off (Auth:Mode=Off): every caller is trusted; run this only behind a gateway that authenticates callers.");
            return;
        }

        if (!required)
        {
            logger.LogWarning(
                "API keys are off until one exists: the host listens on loopback only ({Urls}) and has no key (Auth:Mode=Auto). A key created while it runs is required within 5 s.",
                string.Join(", ", urls));
        }
        else
        {
            logger.LogInformation("API keys required: {Keys} active key(s); Entra ID tokens {Entra}.", keys, entra ? "accepted" : "not configured");
        }

        app.UseMiddleware<ApiKeyMiddleware>(!required);
        app.UseRateLimiter();
    }

    /// <summary><c>GET /v1/usage</c>: the caller's own usage, or every key's for an admin key.</summary>
    public static IEndpointRouteBuilder MapUsage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/usage", async (HttpContext http, UsageMeter usage, IApiKeyStore store, CancellationToken cancellationToken) =>
        {
            var caller = http.Items[ApiKeyMiddleware.ItemKey] as ApiKeyRecord;
            var counts = usage.Snapshot();
            var keys = await store.ListAsync(cancellationToken);
            // Entra ID callers are not stored keys: they appear once they have made requests.
            IEnumerable<ApiKeyRecord> all = caller is { Id: var id } && id.StartsWith("entra:", StringComparison.Ordinal) && keys.All(k => k.Id != id) ? [.. keys, caller] : keys;
            var visible = caller is null || caller.Scopes.Contains(Scopes.Admin) ? all : all.Where(k => k.Id == caller.Id);
            return TypedResults.Ok(visible.Select(k =>
            {
                var c = counts.GetValueOrDefault(k.Id);
                return new KeyUsage(k.Id, k.Name, k.Scopes, k.RequestsPerMinute, k.RevokedAt is not null, c.Requests, c.Posts, c.UpstreamTokens, c.EmbeddingTokens);
            }).ToArray());
        }).WithName("Usage").WithSummary("Per-key usage since start: requests, posts returned, upstream model tokens");
        return app;
    }

    public const string EntraSection = "AzureAd";

    public static bool EntraConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[$"{EntraSection}:ClientId"]);

    /// <summary>Whether keys live in Cosmos DB (the posts do): otherwise in the embedded store's file.</summary>
    public static bool KeysInCosmos(IConfiguration configuration) => string.Equals(configuration["StoreKind"], "Cosmos", StringComparison.OrdinalIgnoreCase);

    /// <summary>The embedded store's file, where keys live when the posts do.</summary>
    public static string KeysFile(IConfiguration configuration) =>
        (configuration.GetSection(SqliteOptions.Section).Get<SqliteOptions>() ?? new SqliteOptions()).DatabasePath;

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}

public sealed record KeyUsage(string Id, string Name, IReadOnlyList<string> Scopes, int RequestsPerMinute, bool Revoked, long Requests, long PostsReturned, long UpstreamTokens, long EmbeddingTokens = 0);
