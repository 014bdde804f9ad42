using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StreamIngest.Ground;
using StreamIngest.Host.Api;

namespace StreamIngest.Host.Chat;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>GET /v1/models</c>, OpenAI's wire format: retrieves for the conversation's
/// last user turn (filters in the <c>"streamingest"</c> extension object, the fields of <c>/v1/ground</c>), puts the
/// quoted posts in that turn, and forwards the conversation with every parameter the caller sent (tools included)
/// to the configured upstream through the official OpenAI .NET client. The upstream's answer comes back as it wrote
/// it (tool calls, several choices, logprobs), non-streaming or as its <c>chat.completion.chunk</c> events, plus
/// <c>citations</c> (the supplied posts) and <c>streamingest.unsupported_citations</c>: markers like <c>[7]</c> in
/// the answer that point at no supplied post. Errors use OpenAI's envelope (<see cref="OpenAiError"/>).
/// </summary>
public static partial class ChatApi
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", CompleteAsync).WithName("ChatCompletions")
            .WithSummary("Grounded chat in the OpenAI wire format (non-streaming or SSE, tool calls forwarded), with citations")
            .WithDescription("Example body: {\"model\": \"streamingest\", \"messages\": [{\"role\": \"user\", \"content\": \"Which streets are flooded?\"}], \"stream\": false, \"streamingest\": {\"window\": \"PT6H\", \"entity\": \"#flood\"}}");
        app.MapGet("/v1/models", (IOptions<ChatOptions> options) => TypedResults.Text(ModelList(options.Value).ToJsonString(), "application/json"))
            .WithName("ListModels").WithSummary("The models /v1/chat/completions accepts (OpenAI's list format)");
        app.MapGet("/v1/models/{model}", (string model, IOptions<ChatOptions> options) =>
                options.Value.Models().Contains(model, StringComparer.Ordinal)
                    ? (IResult)TypedResults.Text(Model(model).ToJsonString(), "application/json")
                    : NotOffered(model, options.Value))
            .WithName("GetModel").WithSummary("One model /v1/chat/completions accepts");
        return app;
    }

    public static async Task<IResult> CompleteAsync(
        HttpContext http, GroundedPromptBuilder builder, UpstreamChat upstream, IOptions<ChatOptions> chatOptions,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider timeProvider, Auth.UsageMeter usage, CancellationToken cancellationToken)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            return OpenAiError.Invalid(null, $"The body is not valid JSON: {ex.Message}");
        }

        var options = chatOptions.Value;
        var (request, invalid) = new ChatRequestReader(options).Read(body);
        if (request is null)
        {
            return invalid!;
        }

        if (!upstream.IsConfigured)
        {
            return OpenAiError.ForStatus(
                StatusCodes.Status503ServiceUnavailable,
                $"No upstream model is configured. Set {ChatOptions.Section}:Endpoint (an OpenAI-compatible base URL), {ChatOptions.Section}:Model and, if the upstream needs one, {ChatOptions.Section}:ApiKey.");
        }

        if (options.Resolve(request.Model) is not { } model)
        {
            return NotOffered(request.Model!, options);
        }

        GroundBody filters;
        try
        {
            filters = request.Extension?.Deserialize<GroundBody>(json.Value.SerializerOptions) ?? new GroundBody();
        }
        catch (JsonException ex)
        {
            return OpenAiError.Invalid("streamingest" + (ex.Path is { Length: > 1 } p ? p[1..] : string.Empty), $"'streamingest' must be an object with /v1/ground's fields: {ex.Message}");
        }

        // Retrieval reads the question's last MaxQueryChars characters (where a pasted text usually ends in the
        // question); the upstream gets the whole turn.
        var question = request.Question.Text;
        var query = question.Length <= SearchParameters.MaxQueryChars ? question : question[^SearchParameters.MaxQueryChars..];
        var grounded = await GroundApi.GroundAsync(filters with { Question = query }, builder, timeProvider, cancellationToken, usage);
        if (grounded.Result is ValidationProblem problem)
        {
            var (field, messages) = problem.ProblemDetails.Errors.First();
            return OpenAiError.Invalid(field == "question" ? $"messages[{request.QuestionIndex}].content" : $"streamingest.{field}", string.Join(" ", messages));
        }

        var prompt = ((Ok<GroundedPrompt>)grounded.Result).Value!;
        var upstreamBody = (JsonObject)request.Forward.DeepClone();
        upstreamBody["model"] = model;
        upstreamBody["messages"] = Messages(prompt, request);
        try
        {
            if (request.Stream)
            {
                upstreamBody["stream"] = true;
                upstreamBody["stream_options"] = new JsonObject { ["include_usage"] = true }; // for the key's usage, relayed only when asked
                return await StreamAsync(http, upstream, upstreamBody, prompt, request.IncludeUsage, usage, json.Value.SerializerOptions, cancellationToken);
            }

            var completion = await upstream.CompleteAsync(upstreamBody, cancellationToken);
            usage.Tokens(TotalTokens(completion["usage"]));
            AddGrounding(completion, prompt, AnswerText(completion), json.Value.SerializerOptions);
            return TypedResults.Text(completion.ToJsonString(), "application/json");
        }
        catch (Exception ex) when (UpstreamFailure(ex, upstream, cancellationToken) is { } error)
        {
            if (http.Response.HasStarted)
            {
                // Mid-stream: the status is gone; say so in the stream and end it.
                await WriteAsync(http, error.ToJson(), CancellationToken.None);
                return TypedResults.Empty;
            }

            return error;
        }
    }

    /// <summary>What the caller gets when the upstream fails; null for cancellations by the caller and our own bugs.</summary>
    private static OpenAiError? UpstreamFailure(Exception ex, UpstreamChat upstream, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException when !cancellationToken.IsCancellationRequested => OpenAiError.ForStatus(
            StatusCodes.Status504GatewayTimeout, $"The upstream model did not answer within {ChatOptions.Section}:TimeoutSeconds."),
        ClientResultException { Status: 0 } => OpenAiError.ForStatus(
            StatusCodes.Status502BadGateway, $"The upstream model at {ChatOptions.Section}:Endpoint could not be reached: {upstream.Redact(ex.Message.Split('\n')[0])}"),
        ClientResultException { Status: 400 or 404 or 422 } c => OpenAiError.Invalid(
            null, $"The upstream model refused the request (HTTP {c.Status}): {upstream.Redact(UpstreamMessage(c))}", "upstream_refused"),
        ClientResultException { Status: 429 } => OpenAiError.ForStatus(
            StatusCodes.Status429TooManyRequests, "The upstream model is rate limited; retry later."),
        ClientResultException c => OpenAiError.ForStatus(
            StatusCodes.Status502BadGateway, $"The upstream at {ChatOptions.Section}:Endpoint answered HTTP {c.Status}."),
        HttpRequestException or IOException => OpenAiError.ForStatus(
            StatusCodes.Status502BadGateway, $"The upstream model at {ChatOptions.Section}:Endpoint could not be reached: {upstream.Redact(ex.Message)}"),
        JsonException or InvalidDataException => OpenAiError.ForStatus(
            StatusCodes.Status502BadGateway, "The upstream model answered something other than OpenAI's chat completion format."),
        _ => null,
    };

    /// <summary>The <c>error.message</c> of an upstream's OpenAI-style error body, or its status line.</summary>
    private static string UpstreamMessage(ClientResultException ex)
    {
        try
        {
            var content = ex.GetRawResponse()?.Content;
            return content is not null && JsonNode.Parse(content.ToMemory().Span)?["error"]?["message"] is JsonValue m && m.TryGetValue<string>(out var message)
                ? message
                : ex.Message.Split('\n')[0];
        }
        catch (JsonException)
        {
            return ex.Message.Split('\n')[0];
        }
    }

    /// <summary>Relays the upstream's chunks as they come; the chunk that finishes choice 0 also carries the citations.</summary>
    private static async Task<IResult> StreamAsync(
        HttpContext http, UpstreamChat upstream, JsonObject body, GroundedPrompt prompt, bool includeUsage, Auth.UsageMeter usage,
        JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        var grounded = false;
        JsonObject? last = null;
        await foreach (var chunk in upstream.StreamAsync(body, cancellationToken))
        {
            if (chunk["usage"] is JsonObject reported)
            {
                usage.Tokens(TotalTokens(reported));
                if (!includeUsage)
                {
                    chunk.Remove("usage");
                    if (chunk["choices"] is JsonArray { Count: 0 })
                    {
                        continue; // the usage-only chunk the caller did not ask for
                    }
                }
            }

            var first = (chunk["choices"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["index"] is not JsonValue i || i.GetValue<int>() == 0);
            if (first?["delta"]?["content"] is JsonValue delta && delta.TryGetValue<string>(out var piece))
            {
                text.Append(piece);
            }

            if (!grounded && first?["finish_reason"] is JsonValue { } finish && finish.GetValueKind() == JsonValueKind.String)
            {
                AddGrounding(chunk, prompt, text.ToString(), options);
                grounded = true;
            }

            last = chunk;
            await WriteAsync(http, chunk, cancellationToken);
        }

        if (!grounded)
        {
            // An upstream that never sent a finish reason: the citations follow in a chunk of their own.
            var final = new JsonObject
            {
                ["id"] = last?["id"]?.DeepClone(), ["object"] = "chat.completion.chunk", ["created"] = last?["created"]?.DeepClone(),
                ["model"] = last?["model"]?.DeepClone(), ["choices"] = new JsonArray(),
            };
            AddGrounding(final, prompt, text.ToString(), options);
            await WriteAsync(http, final, cancellationToken);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
        return TypedResults.Empty;
    }

    /// <summary>
    /// Writes one event. The stream's headers go out with the first one, that is once the upstream has answered, so
    /// an upstream failure before it is still a status code.
    /// </summary>
    private static async Task WriteAsync(HttpContext http, JsonObject chunk, CancellationToken cancellationToken)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
        }

        await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>The upstream's reported <c>usage.total_tokens</c>, 0 when it reported none.</summary>
    private static long TotalTokens(JsonNode? usage) =>
        usage?["total_tokens"] is JsonValue total && total.TryGetValue<long>(out var tokens) ? tokens : 0;

    private static string AnswerText(JsonObject completion) =>
        (completion["choices"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault()?["message"]?["content"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : string.Empty;

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
            ["abstained"] = prompt.Abstention is not null,
            ["abstention"] = JsonSerializer.SerializeToNode(prompt.Abstention, options),
        };
    }

    /// <summary>
    /// Our rules first, the caller's own system and developer messages next, then the conversation in order as sent
    /// (tool calls and tool results included), with the question's turn replaced by the posts and the question.
    /// </summary>
    private static JsonArray Messages(GroundedPrompt prompt, ChatRequest request)
    {
        var messages = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = prompt.System });
        foreach (var turn in request.Messages.Where(t => t.Role is "system" or "developer"))
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = turn.Text });
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var turn = request.Messages[i];
            if (i == request.QuestionIndex)
            {
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = GroundedPromptBuilder.UserMessage(prompt.Context, turn.Text) });
            }
            else if (turn.Role is not ("system" or "developer"))
            {
                messages.Add(turn.Json.DeepClone());
            }
        }

        return messages;
    }

    private static JsonObject ModelList(ChatOptions options) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray([.. options.Models().Select(m => (JsonNode)Model(m))]),
    };

    private static JsonObject Model(string id) => new() { ["id"] = id, ["object"] = "model", ["created"] = 0, ["owned_by"] = "streamingest" };

    private static OpenAiError NotOffered(string model, ChatOptions options) => new(
        StatusCodes.Status404NotFound,
        options.IsConfigured
            ? $"The model '{model}' is not offered here. Ask for one of: {string.Join(", ", options.Models())} (GET /v1/models); '{ChatOptions.DefaultAlias}' is always the configured default. More can be allowed with {ChatOptions.Section}:AllowedModels."
            : $"The model '{model}' is not offered here: no upstream model is configured ({ChatOptions.Section}:Endpoint, {ChatOptions.Section}:Model).",
        "invalid_request_error",
        "model",
        "model_not_found");

    [GeneratedRegex(@"\[(\d{1,4})\]")]
    private static partial Regex CitationMarker();
}
