using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// Entra ID access tokens through Microsoft.Identity.Web: the host is configured as it would be in Azure (AzureAd:*),
/// and only the authority's signing key and issuer come from the test instead of login.microsoftonline.com (offline).
/// </summary>
public sealed class EntraTokenTests : IAsyncLifetime
{
    private const string Issuer = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";
    private const string Audience = "api://streamingest-test";
    private readonly SymmetricSecurityKey _signingKey = new(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private StreamIngestHost _host = null!;
    private Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> _factory = null!;

    public Task InitializeAsync()
    {
        _host = new StreamIngestHost(TestPaths.NewTempDir(), null, new Dictionary<string, string?>
        {
            ["AzureAd:Instance"] = "https://login.microsoftonline.com/",
            ["AzureAd:TenantId"] = "11111111-2222-3333-4444-555555555555",
            ["AzureAd:ClientId"] = Audience,
        });
        _factory = _host.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
            {
                var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
                configuration.SigningKeys.Add(_signingKey);
                o.Configuration = configuration; // no metadata download
                o.TokenValidationParameters.ValidIssuer = Issuer;
                o.TokenValidationParameters.IssuerValidator = null;
                o.TokenValidationParameters.IssuerSigningKey = _signingKey;
            })));
        return Task.CompletedTask;
    }

    private string Token(string? scopes, string audience = Audience, DateTime? expires = null)
    {
        var claims = new Dictionary<string, object> { ["oid"] = "caller-object-id", ["azp"] = "trading-app" };
        if (scopes is not null)
        {
            claims["scp"] = scopes;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = claims,
            NotBefore = DateTime.UtcNow.AddMinutes(-30),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(30),
            SigningCredentials = new SigningCredentials(_signingKey, SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string token)
    {
        using var client = _factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.GetAsync(new Uri(path, UriKind.Relative));
    }

    [Fact]
    public async Task ValidToken_IsServedForItsScopes_AndForbiddenBeyondThem()
    {
        using var search = await GetAsync("/v1/search?q=flood", Token("search ground"));
        using var admin = await GetAsync("/v1/deadletters", Token("search ground"));
        using var usage = await GetAsync("/v1/usage", Token("search"));

        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
        var own = Assert.Single((await usage.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Equal("entra:caller-object-id", own.GetProperty("id").GetString());
        Assert.Equal("trading-app", own.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("wrong-audience")]
    [InlineData("expired")]
    [InlineData("no-scope")]
    public async Task BadToken_IsRefused(string what)
    {
        var token = what switch
        {
            "wrong-audience" => Token("search", audience: "api://someone-else"),
            "expired" => Token("search", expires: DateTime.UtcNow.AddMinutes(-10)), // beyond the 5-minute clock skew
            _ => Token(null),
        };

        using var response = await GetAsync("/v1/search?q=flood", token);

        // A token naming none of our scopes: Microsoft.Identity.Web refuses one without scp or roles outright (401).
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ProtectedResourceMetadata_IsServed_AndEvery401PointsAtIt()
    {
        using var client = _factory.CreateClient();

        using var challenge = await client.PostAsync(new Uri("/mcp", UriKind.Relative), new StringContent("{}"));
        var metadata = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/.well-known/oauth-protected-resource/mcp");

        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Equal("Bearer resource_metadata=\"http://localhost/.well-known/oauth-protected-resource/mcp\"", challenge.Headers.WwwAuthenticate.ToString());
        Assert.Equal("http://localhost/mcp", metadata.GetProperty("resource").GetString());
        Assert.Equal(Issuer, metadata.GetProperty("authorization_servers")[0].GetString());
        Assert.Contains($"{Audience}/search", metadata.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
    }
}
