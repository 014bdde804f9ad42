using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OpenAI.Chat;
using StreamIngest.Ground;
using StreamIngest.Host.Api;

namespace StreamIngest.Host.Chat;

/// <summary>
/// <c>POST /v1/chat/completions</c>, the OpenAI wire format: retrieves for the conversation's last user turn
/// (filters in the <c>"streamingest"</c> extension object, the fields of <c>/v1/ground</c>), builds the grounded
/// prompt, forwards it with the earlier turns to the configured upstream through the official OpenAI .NET client,
/// and answers, non-streaming or as server-sent <c>chat.completion.chunk</c> events, with a <c>citations</c>
/// extension (the supplied posts) and <c>streamingest.unsupported_citations</c>: markers like <c>[7]</c> in the
/// answer that point at no supplied post.
/// </summary>
public static partial class ChatApi
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", CompleteAsync).WithName("ChatCompletions")
            .WithSummary("Grounded chat in the OpenAI wire format (non-streaming or SSE), with citations")
            .WithDescription("Example body: {\"messages\": [{\"role\": \"user\", \"content\": \"Which streets are flooded?\"}], \"stream\": false, \"streamingest\": {\"window\": \"PT6H\", \"entity\": \"#flood\"}}");
        return app;
    }

    public static async Task<IResult> CompleteAsync(
        HttpContext http, GroundedPromptBuilder builder, UpstreamChat upstream, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        TimeProvider timeProvider, Auth.UsageMeter usage, CancellationToken cancellationToken)
    {
        JsonObject? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: cancellationToken) as JsonObject;
        }
        catch (JsonException ex)
        {
            return Invalid("body", $"The body must be a JSON object: {ex.Message}");
        }

        if (body?["messages"] is not JsonArray messages || messages.Count == 0)
        {
            return Invalid("messages", "'messages' must be a non-empty array of {role, content}.");
        }

        var turns = new List<(string Role, string Text)>();
        foreach (var message in messages)
        {
            var role = message?["role"]?.GetValue<string>();
            if (role is not ("system" or "developer" or "user" or "assistant"))
            {
                return Invalid("messages", "Each message needs a 'role' of system, developer, user or assistant.");
            }

            turns.Add((role, Text(message!["content"])));
        }

        var last = turns.FindLastIndex(t => t.Role == "user");
        if (last < 0 || string.IsNullOrWhiteSpace(turns[last].Text))
        {
            return Invalid("messages", "The conversation needs a user message with text to answer.");
        }

        if (!upstream.IsConfigured)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "No upstream model is configured",
                detail: $"Set {ChatOptions.Section}:Endpoint (an OpenAI-compatible base URL), {ChatOptions.Section}:Model and, if the upstream needs one, {ChatOptions.Section}:ApiKey.");
        }

        GroundBody filters;
        try
        {
            filters = body["streamingest"]?.Deserialize<GroundBody>(json.Value.SerializerOptions) ?? new GroundBody();
        }
        catch (JsonException ex)
        {
            return Invalid("streamingest", $"'streamingest' must be an object with /v1/ground's fields: {ex.Message}");
        }

        var grounded = await GroundApi.GroundAsync(filters with { Question = turns[last].Text }, builder, timeProvider, cancellationToken, usage);
        if (grounded.Result is not Ok<GroundedPrompt> { Value: { } prompt })
        {
            return grounded.Result;
        }

        var request = new UpstreamRequest(
            Messages(prompt, turns, last),
            body["model"]?.GetValue<string>(),
            (body["max_completion_tokens"] ?? body["max_tokens"])?.GetValue<int>(),
            body["temperature"]?.GetValue<float>());
        var created = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        try
        {
            if (body["stream"]?.GetValue<bool>() == true)
            {
                var streamed = await StreamAsync(http, upstream, request, prompt, created, body["stream_options"]?["include_usage"]?.GetValue<bool>() == true, json.Value.SerializerOptions, cancellationToken);
                usage.Tokens(streamed?.TotalTokenCount ?? 0);
                return TypedResults.Empty;
            }

            var completion = await upstream.CompleteAsync(request, cancellationToken);
            usage.Tokens(completion.Usage?.TotalTokenCount ?? 0);
            var text = string.Concat(completion.Content.Select(p => p.Text));
            var response = new JsonObject
            {
                ["id"] = completion.Id,
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = completion.Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
                    ["finish_reason"] = FinishReason(completion.FinishReason),
                }),
                ["usage"] = completion.Usage is null ? null : new JsonObject
                {
                    ["prompt_tokens"] = completion.Usage.InputTokenCount,
                    ["completion_tokens"] = completion.Usage.OutputTokenCount,
                    ["total_tokens"] = completion.Usage.TotalTokenCount,
                },
            };
            AddGrounding(response, prompt, text, json.Value.SerializerOptions);
            return TypedResults.Text(response.ToJsonString(), "application/json");
        }
        catch (ClientResultException ex)
        {
            // The upstream's status, never its body or our key.
            return TypedResults.Problem(
                statusCode: StatusCodes.Status502BadGateway,
                title: "The upstream model failed",
                detail: $"The upstream at {ChatOptions.Section}:Endpoint answered HTTP {ex.Status}.");
        }
    }

    /// <summary>Relays the upstream stream; returns the upstream's token usage when it reported one.</summary>
    private static async Task<ChatTokenUsage?> StreamAsync(
        HttpContext http, UpstreamChat upstream, UpstreamRequest request, GroundedPrompt prompt, long created, bool includeUsage,
        JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        string? id = null, model = null;
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var started = false;
        await foreach (var update in upstream.StreamAsync(request, cancellationToken))
        {
            if (!started)
            {
                // Headers go out only once the upstream has answered, so an upstream failure is still a Problem Details.
                http.Response.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                started = true;
            }

            id ??= update.CompletionId;
            model ??= update.Model;
            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
            var delta = string.Concat(update.ContentUpdate.Select(p => p.Text));
            if (delta.Length == 0)
            {
                continue;
            }

            text.Append(delta);
            await WriteAsync(http, Chunk(id, model, created, new JsonObject { ["role"] = "assistant", ["content"] = delta }, null), cancellationToken);
        }

        var final = Chunk(id, model, created, new JsonObject(), FinishReason(finish ?? ChatFinishReason.Stop));
        AddGrounding(final, prompt, text.ToString(), options);
        await WriteAsync(http, final, cancellationToken);
        if (includeUsage && usage is not null)
        {
            var chunk = Chunk(id, model, created, null, null);
            chunk["choices"] = new JsonArray();
            chunk["usage"] = new JsonObject
            {
                ["prompt_tokens"] = usage.InputTokenCount,
                ["completion_tokens"] = usage.OutputTokenCount,
                ["total_tokens"] = usage.TotalTokenCount,
            };
            await WriteAsync(http, chunk, cancellationToken);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
        return usage;
    }

    private static JsonObject Chunk(string? id, string? model, long created, JsonObject? delta, string? finishReason) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = delta is null ? null : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
    };

    private static async Task WriteAsync(HttpContext http, JsonObject chunk, CancellationToken cancellationToken)
    {
        await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>The supplied posts as <c>citations</c>, and what the answer cites that was never supplied.</summary>
    private static void AddGrounding(JsonObject response, GroundedPrompt prompt, string answer, JsonSerializerOptions options)
    {
        var supplied = prompt.Citations.Select(c => c.N).ToHashSet();
        var cited = CitationMarker().Matches(answer).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToList();
        response["citations"] = new JsonArray([.. prompt.Citations.Select(c => (JsonNode)new JsonObject
        {
            ["index"] = c.N,
            ["id"] = c.Id,
            ["url"] = c.Url,
            ["author"] = c.Author,
            ["created_at"] = c.CreatedAt,
            ["source"] = c.Source,
            ["cited"] = cited.Contains(c.N),
        })]);
        response["streamingest"] = new JsonObject
        {
            ["unsupported_citations"] = new JsonArray([.. cited.Where(n => !supplied.Contains(n)).Order().Select(n => (JsonNode)n)]),
            ["excluded"] = JsonSerializer.SerializeToNode(prompt.Excluded, options),
            ["freshness"] = JsonSerializer.SerializeToNode(prompt.Freshness, options),
        };
    }

    /// <summary>Our rules first, the caller's own system messages next, the earlier turns, then the grounded last turn.</summary>
    private static List<ChatMessage> Messages(GroundedPrompt prompt, List<(string Role, string Text)> turns, int last)
    {
        var messages = new List<ChatMessage> { new SystemChatMessage(prompt.System) };
        messages.AddRange(turns.Where(t => t.Role is "system" or "developer").Select(t => (ChatMessage)new SystemChatMessage(t.Text)));
        for (var i = 0; i < last; i++)
        {
            if (turns[i].Role == "user")
            {
                messages.Add(new UserChatMessage(turns[i].Text));
            }
            else if (turns[i].Role == "assistant")
            {
                messages.Add(new AssistantChatMessage(turns[i].Text));
            }
        }

        messages.Add(new UserChatMessage(prompt.Messages.Last(m => m.Role == "user").Content));
        return messages;
    }

    /// <summary>A message's text: a string, or the text parts of a content array.</summary>
    private static string Text(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join("\n", parts.Select(p => p?["type"]?.GetValue<string>() == "text" ? p["text"]?.GetValue<string>() : null).Where(t => t is not null)),
        _ => string.Empty,
    };

    private static string FinishReason(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Length => "length",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.FunctionCall => "function_call",
        _ => "stop",
    };

    private static ValidationProblem Invalid(string name, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [name] = [message] }, title: "Invalid chat request");

    [GeneratedRegex(@"\[(\d{1,4})\]")]
    private static partial Regex CitationMarker();
}
