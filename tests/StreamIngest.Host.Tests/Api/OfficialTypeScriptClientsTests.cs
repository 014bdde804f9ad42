using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StreamIngest.Host.Auth;
using StreamIngest.Host.Hosting;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// The official TypeScript clients (npm <c>openai</c> and <c>@modelcontextprotocol/sdk</c>, pinned in
/// tests/conformance/package.json, installed by .ci/run) against the host on a real socket with keys required and a
/// local upstream model: the script asserts what a user sees through them (error messages, a tool-call round trip,
/// a scope refusal, an argument error). Skips, saying why, without Node.js or the packages.
/// </summary>
public sealed class OfficialTypeScriptClientsTests
{
    private static string ModulesFolder =>
        Environment.GetEnvironmentVariable("STREAMINGEST_CONFORMANCE_MODULES")
        ?? Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".cache", "streamingest-tools", "conformance", "node_modules");

    [SkippableFact]
    public async Task OfficialTypeScriptClients_SeeTheErrorsToolCallsAndScopesTheyExpect()
    {
        Skip.IfNot(Directory.Exists(Path.Combine(ModulesFolder, "openai")) && Directory.Exists(Path.Combine(ModulesFolder, "@modelcontextprotocol", "sdk")),
            $"the official TypeScript clients are not installed at {ModulesFolder} (.ci/run installs them: npm install --prefix <tools>/conformance)");

        var received = new ConcurrentQueue<(JsonObject Body, string? Authorization)>();
        await using var upstream = await LocalServer.StartAsync(app => app.MapPost("/v1/chat/completions", (HttpContext http) => ChatHostFixture.AnswerAsync(http, received)));
        var data = TestPaths.NewTempDir();
        var key = await TestKeys.CreateAsync(data, "agent", [Scopes.Search, Scopes.Ground]);
        var searchKey = await TestKeys.CreateAsync(data, "searcher", [Scopes.Search]);
        var admin = await TestKeys.CreateAsync(data, "ops", [Scopes.Admin]);

        var app = StreamIngestApp.Build(
        [
            "--urls=http://127.0.0.1:0", $"--Store:DataPath={data}", "--StatusIntervalSeconds=0", "--Auth:Mode=Keys",
            "--Feeds:Jetstream:Enabled=false", "--Feeds:Replay:Enabled=true", $"--Feeds:Replay:Path={Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl")}",
            $"--Chat:Endpoint={upstream.Url}/v1", "--Chat:Model=local-test-model", "--Chat:ApiKey=sk-upstream",
        ]);
        await app.StartAsync();
        try
        {
            var baseUrl = app.Urls.First();
            using (var http = new HttpClient { BaseAddress = new Uri(baseUrl) })
            {
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
                await StreamIngestHost.StatsAsync(http, s => s.GetProperty("stored").GetInt64() >= 390 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(120));
            }

            var run = TestPaths.NewTempDir();
            File.Copy(Path.Combine(AppContext.BaseDirectory, "conformance", "official-clients.mjs"), Path.Combine(run, "official-clients.mjs"));
            Directory.CreateSymbolicLink(Path.Combine(run, "node_modules"), ModulesFolder);
            var start = new ProcessStartInfo("node", "official-clients.mjs") { WorkingDirectory = run, RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["BASE_URL"] = baseUrl;
            start.Environment["KEY"] = key;
            start.Environment["SEARCH_KEY"] = searchKey;
            using var node = Process.Start(start)!;
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEndAsync();
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));

            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var checks = lines.Select(l => JsonNode.Parse(l)!).ToList();
            Assert.True(node.ExitCode == 0, $"the official clients saw failures:\n{string.Join('\n', lines)}\n{await stderr}");
            Assert.Equal(10, checks.Count);
            Assert.All(checks, c => Assert.True(c!["ok"]!.GetValue<bool>(), c.ToJsonString()));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
