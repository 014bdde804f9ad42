using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenAI;
using OpenAI.Chat;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// A local OpenAI-compatible upstream on 127.0.0.1 that records every request and answers with a fixed reply
/// (streamed when asked), and the demo host configured to forward to it.
/// </summary>
public sealed class ChatHostFixture : IAsyncLifetime
{
    public const string Answer = "Main Street is under water [1], and the old bridge is closed [2]. Some call it a hoax [9].";
    public const string Secret = "sk-test-secret-never-returned";

    public ConcurrentQueue<(JsonObject Body, string? Authorization)> Received { get; } = new();

    internal LocalServer Upstream { get; private set; } = null!;

    public StreamIngestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await LocalServer.StartAsync(app => app.MapPost("/v1/chat/completions", (HttpContext http) => AnswerAsync(http, Received)));
        Host = new StreamIngestHost(TestPaths.NewTempDir(), Path.Combine(AppContext.BaseDirectory, "samples", "demo.jsonl"), new Dictionary<string, string?>
        {
            ["Chat:Endpoint"] = Upstream.Url + "/v1",
            ["Chat:Model"] = "local-test-model",
            ["Chat:ApiKey"] = Secret,
        });
        await Host.WaitForStatsAsync(s => s.GetProperty("stored").GetInt64() >= 390 && s.GetProperty("queue").GetInt64() == 0, TimeSpan.FromSeconds(120));
    }

    /// <summary>
    /// The local upstream: records the request, asks for <c>get_weather</c> when tools are offered and the last turn is
    /// the user's, and otherwise answers <see cref="Answer"/>, whole or streamed word by word.
    /// </summary>
    internal static async Task AnswerAsync(HttpContext http, ConcurrentQueue<(JsonObject Body, string? Authorization)> received)
    {
        {
            var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
            received.Enqueue((body, http.Request.Headers.Authorization.ToString()));
            if (body["tools"] is JsonArray && body["messages"]!.AsArray()[^1]!["role"]!.GetValue<string>() == "user")
            {
                await ToolCallAsync(http, body["stream"]?.GetValue<bool>() == true);
                return;
            }

            if (body["stream"]?.GetValue<bool>() != true)
            {
                await http.Response.WriteAsJsonAsync(new
                {
                    id = "chatcmpl-local-1", @object = "chat.completion", created = 1_700_000_000, model = "local-test-model",
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = Answer }, finish_reason = "stop" } },
                    usage = new { prompt_tokens = 321, completion_tokens = 12, total_tokens = 333 },
                });
                return;
            }

            http.Response.ContentType = "text/event-stream";
            var words = Answer.Split(' ');
            for (var i = 0; i < words.Length; i++)
            {
                var delta = (i == 0 ? "" : " ") + words[i];
                await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(new
                {
                    id = "chatcmpl-local-2", @object = "chat.completion.chunk", created = 1_700_000_000, model = "local-test-model",
                    choices = new[] { new { index = 0, delta = new { content = delta }, finish_reason = (string?)null } },
                }) + "\n\n");
                await http.Response.Body.FlushAsync();
            }

            await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(new
            {
                id = "chatcmpl-local-2", @object = "chat.completion.chunk", created = 1_700_000_000, model = "local-test-model",
                choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 321, completion_tokens = 12, total_tokens = 333 },
            }) + "\n\ndata: [DONE]\n\n");
        }
    }

    public const string ToolCallId = "call_weather_1";
    public const string ToolArguments = "{\"city\":\"Riverton\"}";

    /// <summary>An upstream that wants a tool: one <c>get_weather</c> call, whole or as streamed deltas.</summary>
    private static async Task ToolCallAsync(HttpContext http, bool stream)
    {
        if (!stream)
        {
            await http.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-tool-1", @object = "chat.completion", created = 1_700_000_000, model = "local-test-model",
                choices = new[]
                {
                    new
                    {
                        index = 0,
                        message = new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = ToolCallId, type = "function", function = new { name = "get_weather", arguments = ToolArguments } } } },
                        finish_reason = "tool_calls",
                    },
                },
                usage = new { prompt_tokens = 300, completion_tokens = 9, total_tokens = 309 },
            });
            return;
        }

        http.Response.ContentType = "text/event-stream";
        object[] chunks =
        [
            new { index = 0, delta = (object)new { role = "assistant", tool_calls = new[] { new { index = 0, id = ToolCallId, type = "function", function = new { name = "get_weather", arguments = "" } } } }, finish_reason = (string?)null },
            new { index = 0, delta = (object)new { tool_calls = new[] { new { index = 0, function = new { arguments = ToolArguments[..8] } } } }, finish_reason = (string?)null },
            new { index = 0, delta = (object)new { tool_calls = new[] { new { index = 0, function = new { arguments = ToolArguments[8..] } } } }, finish_reason = (string?)null },
            new { index = 0, delta = (object)new { }, finish_reason = (string?)"tool_calls" },
        ];
        foreach (var choice in chunks)
        {
            await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(new
            {
                id = "chatcmpl-tool-2", @object = "chat.completion.chunk", created = 1_700_000_000, model = "local-test-model", choices = new[] { choice },
            }) + "\n\n");
            await http.Response.Body.FlushAsync();
        }

        await http.Response.WriteAsync("data: [DONE]\n\n");
    }

    /// <summary>The official OpenAI .NET client, pointed at our endpoint.</summary>
    public ChatClient Client(string model = "streamingest") => new(model, new ApiKeyCredential("caller-key"), new OpenAIClientOptions
    {
        Endpoint = new Uri(Host.Server.BaseAddress, "/v1"),
        Transport = new HttpClientPipelineTransport(Host.CreateClient()),
    });

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

public sealed class ChatCompletionsTests(ChatHostFixture chat) : IClassFixture<ChatHostFixture>
{
    private const string Question = "Is the Riverton flood real, and which streets are under water?";

    [Fact]
    public async Task QuestionNothingStoredIsAbout_Abstains_InGroundAndChat_AndTheModelIsToldSo()
    {
        const string offTopic = "How do I repot an orchid that has root rot?";
        using var http = chat.Host.CreateClient();

        var ground = await (await http.PostAsJsonAsync("/v1/ground", new { question = offTopic, window = "P30D", k = 5 })).Content.ReadFromJsonAsync<JsonElement>();
        var onTopic = await (await http.PostAsJsonAsync("/v1/ground", new { question = Question, window = "P30D", k = 5 })).Content.ReadFromJsonAsync<JsonElement>();
        var completion = await chat.Client().CompleteChatAsync([new UserChatMessage(offTopic)]);
        var raw = JsonNode.Parse(completion.GetRawResponse().Content.ToString())!;
        var sent = LastUpstreamRequest(stream: false).Body;

        Assert.Empty(ground.GetProperty("citations").EnumerateArray());
        Assert.StartsWith("No post in the searched window is about this question", ground.GetProperty("abstention").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.NotEmpty(onTopic.GetProperty("citations").EnumerateArray()); // the floor leaves a real question its posts
        Assert.False(onTopic.TryGetProperty("abstention", out var none) && none.ValueKind != JsonValueKind.Null);
        Assert.True(raw["streamingest"]!["abstained"]!.GetValue<bool>());
        Assert.Contains("There are no current posts on this question", sent["messages"]!.ToJsonString(), StringComparison.Ordinal);
    }

    private (JsonObject Body, string? Authorization) LastUpstreamRequest(bool stream) =>
        chat.Received.Last(r => (r.Body["stream"]?.GetValue<bool>() ?? false) == stream);

    [Fact]
    public async Task Complete_ForwardsTheGroundedPrompt_AndReturnsTheAnswerWithCitations()
    {
        var result = await chat.Client().CompleteChatAsync(
            [new SystemChatMessage("Answer in one sentence."), new UserChatMessage("hello"), new AssistantChatMessage("Hi, ask me about the news."), new UserChatMessage(Question)]);

        var completion = result.Value;
        Assert.Equal(ChatHostFixture.Answer, completion.Content[0].Text);
        Assert.Equal((321, 12), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount));

        var (sent, authorization) = LastUpstreamRequest(stream: false);
        var messages = sent["messages"]!.AsArray();
        Assert.Equal("local-test-model", sent["model"]!.GetValue<string>()); // 'streamingest' names the configured default
        Assert.Equal($"Bearer {ChatHostFixture.Secret}", authorization);
        Assert.Contains("Cite every claim", messages[0]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Answer in one sentence.", messages[1]!["content"]!.GetValue<string>());
        Assert.Equal(["system", "system", "user", "assistant", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        var last = messages[^1]!["content"]!.GetValue<string>();
        Assert.Contains("<<<POST [1]>>>", last, StringComparison.Ordinal);
        Assert.Contains(Question, last, StringComparison.Ordinal);
        Assert.DoesNotContain("Ignore all previous instructions", last, StringComparison.OrdinalIgnoreCase);

        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var citations = raw["citations"]!.AsArray();
        Assert.True(citations.Count >= 2);
        Assert.All(citations, c => Assert.False(string.IsNullOrEmpty(c!["id"]!.GetValue<string>())));
        Assert.True(citations.Single(c => c!["index"]!.GetValue<int>() == 1)!["cited"]!.GetValue<bool>());
        Assert.Equal([9], raw["streamingest"]!["unsupported_citations"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Contains(raw["streamingest"]!["excluded"]!.AsArray(), e => e!["reason"]!.GetValue<string>().Contains("prompt_injection", StringComparison.Ordinal));
        Assert.DoesNotContain(ChatHostFixture.Secret, raw.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_RelaysTheUpstreamChunks_AndEndsWithCitationsUsageAndDone()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.Client().CompleteChatStreamingAsync([new UserChatMessage(Question)]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage = update.Usage ?? usage;
        }

        Assert.Equal(ChatHostFixture.Answer, text.ToString());
        Assert.Equal(333, usage?.TotalTokenCount);
        Assert.Contains(Question, LastUpstreamRequest(stream: true).Body["messages"]!.AsArray()[^1]!["content"]!.GetValue<string>(), StringComparison.Ordinal);

        // The wire itself: SSE chunks, the last data chunk before [DONE] carrying the citations.
        using var http = chat.Host.CreateClient();
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = Question } },
            stream = true,
            streamingest = new { window = "P30D", k = 4 },
        });
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("data: [DONE]", events[^1]);
        var final = JsonNode.Parse(events[^2]["data: ".Length..])!;
        Assert.Equal("stop", final["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.InRange(final["citations"]!.AsArray().Count, 1, 4);
        Assert.Equal([9], final["streamingest"]!["unsupported_citations"]!.AsArray().Select(n => n!.GetValue<int>()));
    }

    [Fact]
    public async Task BadRequests_AreOpenAiErrorsNamingTheField()
    {
        using var http = chat.Host.CreateClient();

        using var noMessages = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "x" });
        using var badWindow = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "flood?" } },
            streamingest = new { window = "yesterday" },
        });

        await OpenAiErrorAssert.NamesAsync(noMessages, "messages");
        await OpenAiErrorAssert.NamesAsync(badWindow, "streamingest.window");
    }
}

public sealed class ChatWithoutUpstreamTests(EmptyHostFixture empty) : IClassFixture<EmptyHostFixture>
{
    [Fact]
    public async Task NoUpstreamConfigured_Is503NamingTheSettings()
    {
        using var http = empty.Host.CreateClient();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "flood?" } } });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Chat:Endpoint", problem.GetProperty("error").GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.Contains("Chat:Model", problem.GetProperty("error").GetProperty("message").GetString()!, StringComparison.Ordinal);
    }
}
