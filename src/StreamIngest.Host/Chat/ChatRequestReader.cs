using System.Text.Json;
using System.Text.Json.Nodes;

namespace StreamIngest.Host.Chat;

/// <summary>
/// Reads a chat completions body the way OpenAI's API does: every field's JSON type and range checked, an error
/// naming the caller's own field path (<c>messages[2].content</c>, <c>tools[0].function.name</c>), generation
/// parameters forwarded to the upstream exactly as sent, and any field this endpoint does not know refused by name
/// rather than silently dropped. Size limits apply per message and to the whole conversation.
/// </summary>
public sealed class ChatRequestReader(ChatOptions options)
{
    private delegate string? Check(JsonNode? value, string path);

    /// <summary>Parameters forwarded upstream as sent, each with its check (null: accepted).</summary>
    private static readonly Dictionary<string, Check> Forwarded = new(StringComparer.Ordinal)
    {
        ["temperature"] = (v, p) => Number(v, p, 0, 2),
        ["top_p"] = (v, p) => Number(v, p, 0, 1),
        ["max_tokens"] = (v, p) => Integer(v, p, 1, int.MaxValue),
        ["max_completion_tokens"] = (v, p) => Integer(v, p, 1, int.MaxValue),
        ["n"] = (v, p) => Integer(v, p, 1, 128),
        ["seed"] = (v, p) => Integer(v, p, long.MinValue, long.MaxValue),
        ["frequency_penalty"] = (v, p) => Number(v, p, -2, 2),
        ["presence_penalty"] = (v, p) => Number(v, p, -2, 2),
        ["logprobs"] = Boolean,
        ["top_logprobs"] = (v, p) => Integer(v, p, 0, 20),
        ["user"] = String,
        ["stop"] = Stop,
        ["response_format"] = ResponseFormat,
        ["logit_bias"] = LogitBias,
        ["tools"] = Tools,
        ["tool_choice"] = ToolChoice,
        ["parallel_tool_calls"] = Boolean,
        ["reasoning_effort"] = String,
        ["service_tier"] = String,
        ["store"] = Boolean,
        ["metadata"] = (v, p) => v is JsonObject o ? o.Select(kv => String(kv.Value, $"{p}.{kv.Key}")).FirstOrDefault(e => e is not null) : $"'{p}' must be an object of strings.",
        ["prediction"] = (v, p) => v is JsonObject ? null : $"'{p}' must be an object.",
        ["modalities"] = (v, p) => v is JsonArray a ? a.Select((x, i) => String(x, $"{p}[{i}]")).FirstOrDefault(e => e is not null) : $"'{p}' must be an array of strings.",
    };

    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>The request, or the error naming the first field that is wrong.</summary>
    public (ChatRequest? Request, OpenAiError? Error) Read(JsonNode? body)
    {
        if (body is not JsonObject root)
        {
            return Fail(null, "The body must be a JSON object with 'messages'.");
        }

        string? model = null;
        if (root.TryGetPropertyValue("model", out var modelNode) && modelNode is not null)
        {
            if (String(modelNode, "model") is { } error)
            {
                return Fail("model", error);
            }

            model = modelNode.GetValue<string>();
        }

        var stream = false;
        if (root["stream"] is { } streamNode)
        {
            if (Boolean(streamNode, "stream") is { } error)
            {
                return Fail("stream", error);
            }

            stream = streamNode.GetValue<bool>();
        }

        var includeUsage = false;
        if (root["stream_options"] is { } streamOptions)
        {
            if (streamOptions is not JsonObject so)
            {
                return Fail("stream_options", "'stream_options' must be an object.");
            }

            if (so["include_usage"] is { } usage)
            {
                if (Boolean(usage, "stream_options.include_usage") is { } error)
                {
                    return Fail("stream_options.include_usage", error);
                }

                includeUsage = usage.GetValue<bool>();
            }
        }

        var forward = new JsonObject();
        foreach (var (name, value) in root)
        {
            if (name is "model" or "messages" or "stream" or "stream_options" or "streamingest" || value is null)
            {
                continue;
            }

            if (!Forwarded.TryGetValue(name, out var check))
            {
                return Fail(name, $"Unrecognized request argument supplied: '{name}'. This endpoint accepts: model, messages, stream, stream_options, streamingest, {string.Join(", ", Forwarded.Keys)}.");
            }

            if (check(value, name) is { } error)
            {
                return Fail(name, error);
            }

            forward[name] = value.DeepClone();
        }

        var (turns, question, messagesError) = Messages(root["messages"]);
        if (messagesError is not null)
        {
            return (null, messagesError);
        }

        var extension = root["streamingest"];
        if (extension is not (null or JsonObject))
        {
            return Fail("streamingest", "'streamingest' must be an object with the fields of /v1/ground (window, entity, source, k, ...).");
        }

        return (new ChatRequest(model, turns!, question, stream, includeUsage, forward, extension), null);
    }

    private (List<ChatTurn>? Turns, int Question, OpenAiError? Error) Messages(JsonNode? node)
    {
        if (node is not JsonArray messages || messages.Count == 0)
        {
            return (null, -1, OpenAiError.Invalid("messages", "'messages' must be a non-empty array of {role, content}."));
        }

        var turns = new List<ChatTurn>(messages.Count);
        long total = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            if (messages[i] is not JsonObject message)
            {
                return (null, -1, OpenAiError.Invalid(path, $"'{path}' must be an object with 'role' and 'content'."));
            }

            if (message["role"] is not JsonValue roleValue || !roleValue.TryGetValue<string>(out var role) || !Roles.Contains(role))
            {
                return (null, -1, OpenAiError.Invalid($"{path}.role", $"'{path}.role' must be one of: system, developer, user, assistant, tool."));
            }

            var (text, contentError) = Content(message["content"], $"{path}.content", nullable: role == "assistant");
            if (contentError is not null)
            {
                return (null, -1, OpenAiError.Invalid($"{path}.content", contentError));
            }

            if (message["name"] is { } name && String(name, $"{path}.name") is { } nameError)
            {
                return (null, -1, OpenAiError.Invalid($"{path}.name", nameError));
            }

            if (role == "assistant" && message["tool_calls"] is { } calls && ToolCalls(calls, $"{path}.tool_calls") is { } callsError)
            {
                return (null, -1, OpenAiError.Invalid(callsError.Param, callsError.Message));
            }

            if (role == "assistant" && text.Length == 0 && message["tool_calls"] is not JsonArray { Count: > 0 })
            {
                return (null, -1, OpenAiError.Invalid($"{path}.content", $"'{path}.content' is required unless 'tool_calls' is given."));
            }

            if (role == "tool" && (message["tool_call_id"] is not JsonValue id || !id.TryGetValue<string>(out var toolCallId) || toolCallId.Length == 0))
            {
                return (null, -1, OpenAiError.Invalid($"{path}.tool_call_id", $"'{path}.tool_call_id' must name the tool call this message answers."));
            }

            if (text.Length > options.MaxMessageChars)
            {
                return (null, -1, OpenAiError.Invalid($"{path}.content", $"'{path}.content' is {text.Length} characters; at most {options.MaxMessageChars} are allowed ({ChatOptions.Section}:MaxMessageChars).", "string_above_max_length"));
            }

            total += text.Length + (message["tool_calls"]?.ToJsonString().Length ?? 0);
            if (total > options.MaxConversationChars)
            {
                return (null, -1, OpenAiError.Invalid("messages", $"The conversation is over {options.MaxConversationChars} characters by '{path}' ({ChatOptions.Section}:MaxConversationChars).", "context_length_exceeded"));
            }

            turns.Add(new ChatTurn(role, text, message));
        }

        var question = turns.FindLastIndex(t => t.Role == "user");
        if (question < 0 || string.IsNullOrWhiteSpace(turns[question].Text))
        {
            return (null, -1, OpenAiError.Invalid("messages", "The conversation needs a user message with text to answer."));
        }

        return (turns, question, null);
    }

    /// <summary>A message's text: a string, or the text parts of a content array.</summary>
    private static (string Text, string? Error) Content(JsonNode? content, string path, bool nullable)
    {
        switch (content)
        {
            case null when nullable:
                return (string.Empty, null);
            case JsonValue v when v.TryGetValue<string>(out var s):
                return (s, null);
            case JsonArray parts:
                var texts = new List<string>(parts.Count);
                for (var j = 0; j < parts.Count; j++)
                {
                    if (parts[j] is not JsonObject part || part["type"] is not JsonValue type || !type.TryGetValue<string>(out var kind))
                    {
                        return (string.Empty, $"'{path}[{j}]' must be an object with a 'type'.");
                    }

                    if (kind is not ("text" or "input_text"))
                    {
                        return (string.Empty, $"'{path}[{j}].type' is '{kind}'; only text parts are accepted (the grounding model reads text).");
                    }

                    if (part["text"] is not JsonValue t || !t.TryGetValue<string>(out var text))
                    {
                        return (string.Empty, $"'{path}[{j}].text' must be a string.");
                    }

                    texts.Add(text);
                }

                return (string.Join("\n", texts), null);
            default:
                return (string.Empty, $"'{path}' must be a string or an array of text parts.");
        }
    }

    private static OpenAiError? ToolCalls(JsonNode calls, string path)
    {
        if (calls is not JsonArray array)
        {
            return OpenAiError.Invalid(path, $"'{path}' must be an array.");
        }

        for (var i = 0; i < array.Count; i++)
        {
            var at = $"{path}[{i}]";
            if (array[i] is not JsonObject call)
            {
                return OpenAiError.Invalid(at, $"'{at}' must be an object with 'id', 'type' and 'function'.");
            }

            if (String(call["id"], $"{at}.id") is { } idError)
            {
                return OpenAiError.Invalid($"{at}.id", idError);
            }

            if (call["type"] is JsonValue type && (!type.TryGetValue<string>(out var kind) || kind != "function"))
            {
                return OpenAiError.Invalid($"{at}.type", $"'{at}.type' must be 'function'.");
            }

            if (call["function"] is not JsonObject function)
            {
                return OpenAiError.Invalid($"{at}.function", $"'{at}.function' must be an object with 'name' and 'arguments'.");
            }

            foreach (var field in (string[])["name", "arguments"])
            {
                if (String(function[field], $"{at}.function.{field}") is { } error)
                {
                    return OpenAiError.Invalid($"{at}.function.{field}", error);
                }
            }
        }

        return null;
    }

    private static string? Tools(JsonNode? value, string path)
    {
        if (value is not JsonArray tools)
        {
            return $"'{path}' must be an array of function tools.";
        }

        for (var i = 0; i < tools.Count; i++)
        {
            var at = $"{path}[{i}]";
            if (tools[i] is not JsonObject tool || tool["type"] is not JsonValue type || !type.TryGetValue<string>(out var kind) || kind != "function")
            {
                return $"'{at}.type' must be 'function'.";
            }

            if (tool["function"] is not JsonObject function)
            {
                return $"'{at}.function' must be an object with a 'name'.";
            }

            if (String(function["name"], $"{at}.function.name") is { } nameError)
            {
                return nameError;
            }

            if (function["description"] is { } description && String(description, $"{at}.function.description") is { } descriptionError)
            {
                return descriptionError;
            }

            if (function["parameters"] is { } parameters && parameters is not JsonObject)
            {
                return $"'{at}.function.parameters' must be a JSON Schema object.";
            }

            if (function["strict"] is { } strict && Boolean(strict, $"{at}.function.strict") is { } strictError)
            {
                return strictError;
            }
        }

        return null;
    }

    private static string? ToolChoice(JsonNode? value, string path) => value switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s is "none" or "auto" or "required" ? null : $"'{path}' must be 'none', 'auto', 'required' or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}.",
        JsonObject { } o when o["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "function" => String(o["function"]?["name"], $"{path}.function.name"),
        _ => $"'{path}' must be 'none', 'auto', 'required' or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}.",
    };

    private static string? ResponseFormat(JsonNode? value, string path) =>
        value is JsonObject o && o["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type is "text" or "json_object" or "json_schema"
            ? type == "json_schema" && o["json_schema"] is not JsonObject ? $"'{path}.json_schema' must be an object with 'name' and 'schema'." : null
            : $"'{path}.type' must be 'text', 'json_object' or 'json_schema'.";

    private static string? Stop(JsonNode? value, string path) => value switch
    {
        JsonValue v when v.TryGetValue<string>(out _) => null,
        JsonArray a when a.Count <= 4 => a.Select((x, i) => String(x, $"{path}[{i}]")).FirstOrDefault(e => e is not null),
        _ => $"'{path}' must be a string or an array of at most 4 strings.",
    };

    private static string? LogitBias(JsonNode? value, string path) =>
        value is JsonObject o ? o.Select(kv => Number(kv.Value, $"{path}.{kv.Key}", -100, 100)).FirstOrDefault(e => e is not null) : $"'{path}' must be an object of token ids to numbers.";

    private static string? String(JsonNode? value, string path) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? null : $"'{path}' must be a string.";

    private static string? Boolean(JsonNode? value, string path) =>
        value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? null : $"'{path}' must be true or false.";

    private static string? Number(JsonNode? value, string path, double min, double max) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d)
            ? d >= min && d <= max ? null : $"'{path}' is {d.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be from {min} to {max}."
            : $"'{path}' must be a number from {min} to {max}.";

    private static string? Integer(JsonNode? value, string path, long min, long max)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<JsonElement>(out var e) || !e.TryGetInt64(out var n))
        {
            return value is JsonValue { } num && num.GetValueKind() == JsonValueKind.Number && num.TryGetValue<double>(out var d) && d == Math.Floor(d) && d >= min && d <= max
                ? null
                : $"'{path}' must be an integer" + (min == long.MinValue ? "." : $" of at least {min}.");
        }

        return n >= min && n <= max ? null : $"'{path}' is {n}; it must be from {min} to {max}.";
    }

    private static (ChatRequest?, OpenAiError?) Fail(string? param, string message) => (null, OpenAiError.Invalid(param, message));
}
