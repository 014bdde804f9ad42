using System.Diagnostics;
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

    [Fact]
    public async Task Document_StatesSecurityErrorsAndParameterTypes()
    {
        using var client = empty.Host.CreateClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("X-Api-Key", schemes.GetProperty("ApiKey").GetProperty("name").GetString());
        Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
        var search = document.GetProperty("paths").GetProperty("/v1/search").GetProperty("get");
        Assert.Equal("search", search.GetProperty("security")[0].GetProperty("ApiKey")[0].GetString());
        Assert.All(new[] { "400", "401", "403", "429" }, status => Assert.True(search.GetProperty("responses").TryGetProperty(status, out _), status));
        var parameters = search.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.True(parameters["q"].GetProperty("required").GetBoolean());
        Assert.Equal("integer", parameters["k"].GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal("number", parameters["min_sentiment"].GetProperty("schema").GetProperty("type").GetString());
        Assert.Empty(document.GetProperty("paths").GetProperty("/health/live").GetProperty("get").GetProperty("security").EnumerateArray());
        Assert.True(document.GetProperty("paths").TryGetProperty("/mcp", out _));
        var chat = document.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post");
        Assert.True(chat.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.Contains("OpenAIError", chat.GetProperty("responses").GetProperty("401").ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Document_PassesRedoclyRecommendedLint()
    {
        var redocly = Path.Combine(
            Environment.GetEnvironmentVariable("STREAMINGEST_CONFORMANCE_MODULES")
                ?? Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".cache", "streamingest-tools", "conformance", "node_modules"),
            ".bin", "redocly");
        Skip.IfNot(File.Exists(redocly), $"@redocly/cli is not installed at {redocly} (.ci/run installs it with the conformance packages)");
        using var client = empty.Host.CreateClient();
        var file = Path.Combine(StreamIngest.Tests.TestPaths.NewTempDir(), "openapi.json");
        await File.WriteAllTextAsync(file, await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));

        var start = new ProcessStartInfo(redocly) { ArgumentList = { "lint", file, "--format=stylish" }, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var lint = Process.Start(start)!;
        var output = lint.StandardOutput.ReadToEndAsync();
        var errors = lint.StandardError.ReadToEndAsync();
        await lint.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(lint.ExitCode == 0, $"redocly lint (recommended rules) found errors:\n{await output}\n{await errors}");
    }
}
