using System.Text.Json.Nodes;

namespace StreamIngest.Host.Auth;

/// <summary>
/// OAuth 2.0 Protected Resource Metadata (RFC 9728) for hosts that accept Entra ID tokens, as the MCP authorization
/// specification asks of an MCP server: <c>/.well-known/oauth-protected-resource</c> (and the path-inserted form for
/// <c>/mcp</c>, RFC 9728 §3.1) names the resource, its authorization server (the tenant's v2.0 issuer) and the scopes,
/// and every 401 carries <c>WWW-Authenticate: Bearer resource_metadata="…"</c> pointing at it, so a client can find
/// where to get a token.
/// </summary>
public static class ProtectedResourceMetadata
{
    public const string WellKnown = "/.well-known/oauth-protected-resource";

    public static IEndpointRouteBuilder MapProtectedResourceMetadata(this IEndpointRouteBuilder app)
    {
        var configuration = app.ServiceProvider.GetRequiredService<IConfiguration>();
        if (!AuthExtensions.EntraConfigured(configuration))
        {
            return app;
        }

        app.MapGet(WellKnown, (HttpContext http) => Document(http, configuration, "/"))
            .WithName("ProtectedResourceMetadata").WithSummary("OAuth protected resource metadata (RFC 9728): the authorization server and scopes");
        app.MapGet(WellKnown + "/mcp", (HttpContext http) => Document(http, configuration, "/mcp"))
            .WithName("McpProtectedResourceMetadata").WithSummary("OAuth protected resource metadata (RFC 9728) for the MCP endpoint");
        return app;
    }

    /// <summary>The <c>WWW-Authenticate</c> value of a 401: with <c>resource_metadata</c> when Entra ID tokens are accepted.</summary>
    public static string Challenge(HttpContext http) =>
        AuthExtensions.EntraConfigured(http.RequestServices.GetRequiredService<IConfiguration>())
            ? $"Bearer resource_metadata=\"{Origin(http)}{WellKnown}{(http.Request.Path.StartsWithSegments("/mcp") ? "/mcp" : string.Empty)}\""
            : "Bearer";

    private static IResult Document(HttpContext http, IConfiguration configuration, string path)
    {
        var section = configuration.GetSection(AuthExtensions.EntraSection);
        var instance = (section["Instance"] ?? "https://login.microsoftonline.com/").TrimEnd('/');
        var clientId = section["ClientId"]!;
        var audience = section["Audience"] ?? (clientId.StartsWith("api://", StringComparison.Ordinal) ? clientId : $"api://{clientId}");
        var document = new JsonObject
        {
            ["resource"] = Origin(http) + path.TrimEnd('/'),
            ["authorization_servers"] = new JsonArray($"{instance}/{section["TenantId"]}/v2.0"),
            ["scopes_supported"] = new JsonArray([.. Scopes.All.Select(s => (JsonNode)$"{audience}/{s}")]),
            ["bearer_methods_supported"] = new JsonArray("header"),
            ["resource_name"] = "StreamIngest",
        };
        return TypedResults.Text(document.ToJsonString(), "application/json");
    }

    private static string Origin(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}";
}
