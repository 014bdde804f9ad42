using System.Net.Http.Json;
using System.Text.Json;

namespace StreamIngest.Host.Tests.Api;

/// <summary>The OpenAPI document and the interactive reference page.</summary>
public sealed class OpenApiTests(EmptyHostFixture empty) : IClassFixture<EmptyHostFixture>
{
    [Fact]
    public async Task Document_ListsEveryEndpointWithASummary()
    {
        using var client = empty.Host.CreateClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        string[] expected =
        [
            "/v1/search", "/v1/posts/{id}", "/v1/ground", "/v1/stats", "/v1/deadletters", "/v1/feeds", "/v1/trends",
            "/v1/sentiment", "/v1/stories", "/v1/dashboard", "/v1/stream/posts",
        ];
        Assert.All(expected, path => Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document"));
        foreach (var path in expected)
        {
            foreach (var operation in paths.GetProperty(path).EnumerateObject())
            {
                Assert.True(operation.Value.TryGetProperty("summary", out var summary) && summary.GetString()!.Length > 20, $"{operation.Name} {path} has no summary");
            }
        }

        var search = paths.GetProperty("/v1/search").GetProperty("get");
        Assert.Contains(search.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "min_sentiment");
        Assert.Contains("/v1/search?q=", search.GetProperty("description").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReferencePage_IsServedAndReadsTheDocument()
    {
        using var client = empty.Host.CreateClient();

        using var response = await client.GetAsync(new Uri("/scalar/v1", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        response.EnsureSuccessStatusCode();
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);
        using var script = await client.GetAsync(new Uri("/scalar/scalar.js", UriKind.Relative));
        script.EnsureSuccessStatusCode(); // served by the host itself: the page works offline
    }
}
