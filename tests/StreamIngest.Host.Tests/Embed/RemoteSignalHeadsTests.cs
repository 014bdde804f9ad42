using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Embed;

/// <summary>
/// Signal heads for a remote embedder: <c>train signals --provider openai</c> (the training tool, run as an operator
/// runs it) fits them on the endpoint's vectors, and a host pointed at the file labels posts with them.
/// </summary>
public sealed class RemoteSignalHeadsTests
{
    private const int Dimensions = 16;

    [Fact]
    public async Task HeadsTrainedOnTheEndpointsVectors_AreLoadedByAHostUsingThatEndpoint_AndLabelPosts()
    {
        await using var server = await EmbeddingsServer.StartAsync();
        var dir = TestPaths.NewTempDir();
        var fixtures = WriteFixtures(Path.Combine(dir, "fixtures"));
        var heads = Path.Combine(dir, "signals-remote.json");

        var (exit, stdout, stderr) = await TrainAsync(
            "signals", "--provider", "openai", "--fixtures", fixtures, "--out", heads,
            $"--Embedding:OpenAI:Endpoint={server.Endpoint}", $"--Embedding:OpenAI:Dimensions={Dimensions}", "--Embedding:OpenAI:BatchSize=32");

        Assert.True(exit == 0, stderr);
        var model = JsonNode.Parse(File.ReadAllText(heads))!;
        Assert.Equal($"openai:text-embedding-3-small@{Dimensions}", model["embedding_model"]!.GetValue<string>());
        Assert.Equal($"openai:text-embedding-3-small@{Dimensions}", JsonNode.Parse(stdout.Trim().Split('\n')[^1])!["model"]!.GetValue<string>());
        Assert.Contains(server.AskedDimensions, d => d == Dimensions);
        Assert.DoesNotContain("sk-", stderr + stdout, StringComparison.Ordinal); // the key came from the environment and is never printed

        // A host on the same endpoint: without the heads its labels are off; with them, stored posts carry sentiment.
        Assert.Null(await FirstSentimentAsync(server, Path.Combine(dir, "without"), signalsPath: null));
        Assert.NotNull(await FirstSentimentAsync(server, Path.Combine(dir, "with"), heads));
    }

    [Fact]
    public async Task RemoteProvider_WithoutAnEndpoint_StopsWithTheKeyNamed()
    {
        var (exit, _, stderr) = await TrainAsync("signals", "--provider", "openai", "--fixtures", WriteFixtures(Path.Combine(TestPaths.NewTempDir(), "fixtures")));

        Assert.Equal(2, exit);
        Assert.Contains("Embedding:OpenAI:Endpoint", stderr, StringComparison.Ordinal);
    }

    private static async Task<JsonElement?> FirstSentimentAsync(EmbeddingsServer server, string dir, string? signalsPath)
    {
        Directory.CreateDirectory(dir);
        var replay = ReplayFile.Write(dir, Enumerable.Range(0, 4).Select(i => ReplayFile.Post($"p{i}", $"great news, the bridge {i} reopened today", 5 + i)));
        await using var host = new StreamIngestHost(Path.Combine(dir, "data"), replay, new Dictionary<string, string?>
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:OpenAI:Endpoint"] = server.Endpoint,
            ["Embedding:OpenAI:ApiKey"] = "sk-local-test",
            ["Embedding:OpenAI:Dimensions"] = $"{Dimensions}",
            ["Embedding:SignalsPath"] = signalsPath,
        });
        await host.WaitForProcessedAsync(4);
        using var client = host.CreateClient();
        var search = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=bridge&mode=keyword&k=4&collapse=false");
        var first = search.GetProperty("results").EnumerateArray().First();
        return first.TryGetProperty("sentiment", out var s) && s.ValueKind == JsonValueKind.Object ? s.Clone() : null;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> TrainAsync(params string[] args)
    {
        // The tool's build output beside this test's (same configuration); the project reference builds it first.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var tool = Path.Combine(TestPaths.RepoRoot, "tools", "StreamIngest.Training", "bin", configuration, "net10.0", "StreamIngest.Training.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(tool);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["Embedding__OpenAI__ApiKey"] = "sk-from-the-environment";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A miniature of the labelled corpora in ../shared/fixtures, in their formats: every set the tool fits or scores.</summary>
    private static string WriteFixtures(string root)
    {
        string[] positive = ["love this, what a great day", "so happy with the result", "brilliant win for the team", "thank you all, wonderful support", "best news this week"];
        string[] negative = ["this is awful and sad", "terrible service again, so angry", "the worst flood damage ever", "horrible traffic, hate it", "sad loss for the city"];
        string[] neutral = ["the meeting starts at noon", "bridge opens at 6 am", "report due on friday", "bus 12 runs every hour", "the store is on main street"];
        var texts = positive.Concat(negative).Concat(neutral).ToArray();
        var sentiment = positive.Select(_ => 2).Concat(negative.Select(_ => 0)).Concat(neutral.Select(_ => 1)).ToArray();

        void Set(string task, string split, IEnumerable<string> lines, IEnumerable<int> labels)
        {
            var folder = Path.Combine(root, "tweeteval", task);
            Directory.CreateDirectory(folder);
            File.WriteAllLines(Path.Combine(folder, $"{split}_text.txt"), lines);
            File.WriteAllLines(Path.Combine(folder, $"{split}_labels.txt"), labels.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Set("sentiment", "val", texts, sentiment);
        var flagged = texts.Select(t => t.Contains("hate", StringComparison.Ordinal) || t.Contains("angry", StringComparison.Ordinal) || t.Contains("awful", StringComparison.Ordinal) ? 1 : 0).ToArray();
        foreach (var task in new[] { "offensive", "hate" })
        {
            Set(task, "train", texts, flagged);
            Set(task, "val", texts, flagged);
        }

        var fin = Path.Combine(root, "semeval2017-fin-microblogs");
        Directory.CreateDirectory(fin);
        var items = texts.Select((t, i) => new { id = $"{i}", cashtag = "$AAPL", spans = new[] { t }, sentiment_score = sentiment[i] - 1.0 }).ToArray();
        File.WriteAllText(Path.Combine(fin, "Microblog_Trainingdata.json"),
            JsonSerializer.Serialize(items.Select(x => new Dictionary<string, object> { ["id"] = x.id, ["cashtag"] = x.cashtag, ["spans"] = x.spans, ["sentiment score"] = x.sentiment_score.ToString(System.Globalization.CultureInfo.InvariantCulture) })));
        File.WriteAllText(Path.Combine(fin, "Microblog_Trainingdata-twitter_full.json"), JsonSerializer.Serialize(items.Select(x => new { x.id, text = $"{x.cashtag} {x.spans[0]}" })));
        File.WriteAllText(Path.Combine(fin, "Microblog_Trainingdata-stocktwits_full.json"), "[]");
        return root;
    }
}
