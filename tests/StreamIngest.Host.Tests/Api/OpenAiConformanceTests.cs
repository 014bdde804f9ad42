using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using StreamIngest.Tests;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// What an agent built on the official OpenAI .NET client sees: errors it can read, type checks that name the field,
/// the models it may ask for, and tool calls that round-trip through the grounded endpoint.
/// </summary>
public sealed class OpenAiConformanceTests(ChatHostFixture chat) : IClassFixture<ChatHostFixture>
{
    private const string Question = "Is the Riverton flood real, and which streets are under water?";

    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool(
        "get_weather", "The current weather in a city.", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    [Theory]
    [InlineData("""{"temperature":"hot"}""", "temperature")]
    [InlineData("""{"temperature":2.5}""", "temperature")]
    [InlineData("""{"max_tokens":"10"}""", "max_tokens")]
    [InlineData("""{"max_tokens":10.5}""", "max_tokens")]
    [InlineData("""{"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"stream":"yes"}""", "stream")]
    [InlineData("""{"model":5}""", "model")]
    [InlineData("""{"top_p":"all"}""", "top_p")]
    [InlineData("""{"n":"two"}""", "n")]
    [InlineData("""{"stop":5}""", "stop")]
    [InlineData("""{"tools":[{"type":"function"}]}""", "tools")]
    [InlineData("""{"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"response_format":{"type":"yaml"}}""", "response_format")]
    [InlineData("""{"best_of":3}""", "best_of")]
    [InlineData("""{"messages":[{"role":1,"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":7}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"sunny"}]}""", "messages[1].tool_call_id")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":5,"arguments":"{}"}}]}]}""", "messages[1].tool_calls[0].function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{}}}]}]}""", "messages[1].tool_calls[0].function.arguments")]
    public async Task WrongTypeOrRange_Is400NamingTheField(string fields, string param)
    {
        var body = JsonNode.Parse(fields)!.AsObject();
        body["messages"] ??= new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Question });
        using var http = chat.Host.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

        var error = await OpenAiErrorAssert.NamesAsync(response, param);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task ErrorThroughTheOfficialClient_CarriesOurMessage()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.Client().CompleteChatAsync(
            [new UserChatMessage(Question)], new ChatCompletionOptions { Temperature = 3f }));

        Assert.Equal(400, error.Status);
        Assert.Contains("'temperature' is 3; it must be from 0 to 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WholeConversationIsLimited_AndTheErrorNamesTheCallersFieldPath()
    {
        using var http = chat.Host.CreateClient();
        var huge = new string('x', 64_001);

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            messages = new object[]
            {
                new { role = "user", content = "hello" },
                new { role = "assistant", content = "hi" },
                new { role = "system", content = huge },
                new { role = "user", content = Question },
            },
        });

        var error = await OpenAiErrorAssert.NamesAsync(response, "messages[2].content");
        Assert.Contains("Chat:MaxMessageChars", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LongUserMessage_IsAnswered_NotRefusedOverAFieldTheCallerNeverSent()
    {
        var pasted = string.Concat(Enumerable.Repeat("Background notes from the council meeting. ", 60)) + Question;

        var completion = (await chat.Client().CompleteChatAsync([new UserChatMessage(pasted)])).Value;

        Assert.Equal(ChatHostFixture.Answer, completion.Content[0].Text);
        var sent = chat.Received.Last().Body["messages"]!.AsArray()[^1]!["content"]!.GetValue<string>();
        Assert.Contains(pasted, sent, StringComparison.Ordinal); // the whole turn goes upstream
        Assert.Contains("<<<POST [1]>>>", sent, StringComparison.Ordinal); // and retrieval found the flood posts by its end
    }

    [Fact]
    public async Task Models_ListWhatMayBeAskedFor_AndAnotherModelIsRefusedByName()
    {
        var models = new OpenAIModelClient(new ApiKeyCredential("caller-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri(chat.Host.Server.BaseAddress, "/v1"),
            Transport = new HttpClientPipelineTransport(chat.Host.CreateClient()),
        });

        var listed = (await models.GetModelsAsync()).Value;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.Client("gpt-4o").CompleteChatAsync([new UserChatMessage(Question)]));

        Assert.Equal(["local-test-model", "streamingest"], listed.Select(m => m.Id));
        Assert.Equal(404, refused.Status);
        Assert.Contains("'gpt-4o' is not offered here", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolCalls_RoundTrip_FromToolCallToCitedAnswer()
    {
        var client = chat.Client();
        var options = new ChatCompletionOptions { Tools = { Weather }, ToolChoice = ChatToolChoice.CreateAutoChoice(), AllowParallelToolCalls = false, TopP = 0.9f };
        List<ChatMessage> conversation = [new UserChatMessage(Question)];

        // 1. The upstream wants a tool: the agent gets the call, not an empty answer.
        var first = (await client.CompleteChatAsync(conversation, options)).Value;
        var sent = chat.Received.Last().Body;
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal((ChatHostFixture.ToolCallId, "get_weather", ChatHostFixture.ToolArguments), (call.Id, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal("get_weather", sent["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("auto", sent["tool_choice"]!.GetValue<string>());
        Assert.False(sent["parallel_tool_calls"]!.GetValue<bool>());
        Assert.Equal(0.9, sent["top_p"]!.GetValue<double>(), 3);

        // 2. The agent runs the tool and continues: the assistant's call and the tool's result are accepted and forwarded.
        conversation.Add(new AssistantChatMessage(first.ToolCalls));
        conversation.Add(new ToolChatMessage(call.Id, "Heavy rain, 40 mm in the last hour."));
        var answer = await client.CompleteChatAsync(conversation, options);

        var forwarded = chat.Received.Last().Body["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool"], forwarded.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal(ChatHostFixture.ToolCallId, forwarded[2]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal(ChatHostFixture.ToolCallId, forwarded[3]!["tool_call_id"]!.GetValue<string>());
        Assert.Contains("<<<POST [1]>>>", forwarded[1]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(ChatHostFixture.Answer, answer.Value.Content[0].Text);
        var raw = JsonNode.Parse(answer.GetRawResponse().Content.ToString())!;
        Assert.True(raw["citations"]!.AsArray().Single(c => c!["index"]!.GetValue<int>() == 1)!["cited"]!.GetValue<bool>());
    }

    [Fact]
    public async Task StreamedToolCall_ArrivesAsDeltasTheOfficialClientAssembles()
    {
        var name = new StringBuilder();
        var arguments = new StringBuilder();
        string? id = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.Client().CompleteChatStreamingAsync([new UserChatMessage(Question)], new ChatCompletionOptions { Tools = { Weather } }))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                id ??= part.ToolCallId;
                name.Append(part.FunctionName);
                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }

            finish = update.FinishReason ?? finish;
        }

        Assert.Equal((ChatHostFixture.ToolCallId, "get_weather", ChatHostFixture.ToolArguments), (id, name.ToString(), arguments.ToString()));
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }
}

/// <summary>An upstream that cannot be reached, and one that does not answer in time: 502 and 504 in OpenAI's envelope.</summary>
public sealed class UpstreamFailureTests
{
    [Fact]
    public async Task RefusedConnection_Is502_AndSlowUpstream_Is504()
    {
        var closedPort = FreePort();
        using var answered = new ManualResetEventSlim();
        await using var slow = await LocalServer.StartAsync(app => app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            answered.Set();
            await Task.Delay(Timeout.InfiniteTimeSpan, http.RequestAborted);
        }));
        await using var refused = Host($"http://127.0.0.1:{closedPort}/v1");
        await using var timedOut = Host(slow.Url + "/v1");

        using var refusedResponse = await Ask(refused);
        using var timedOutResponse = await Ask(timedOut);

        var error502 = await OpenAiErrorAssert.NamesAsync(refusedResponse, null!, HttpStatusCode.BadGateway);
        var error504 = await OpenAiErrorAssert.NamesAsync(timedOutResponse, null!, HttpStatusCode.GatewayTimeout);
        Assert.Contains("could not be reached", error502.GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.Contains("Chat:TimeoutSeconds", error504.GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.True(answered.IsSet);
    }

    private static StreamIngestHost Host(string endpoint) => new(TestPaths.NewTempDir(), null, new Dictionary<string, string?>
    {
        ["Chat:Endpoint"] = endpoint,
        ["Chat:Model"] = "local-test-model",
        ["Chat:TimeoutSeconds"] = "1",
        ["Chat:MaxRetries"] = "0",
    });

    private static async Task<HttpResponseMessage> Ask(StreamIngestHost host)
    {
        using var http = host.CreateClient();
        return await http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "flood?" } } });
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
