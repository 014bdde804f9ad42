using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// Checks a tool call's arguments against the tool's own input schema before it runs: a missing required argument,
/// one of the wrong JSON type, or one the tool does not take is a tool error naming the argument by its MCP name and
/// saying what it accepts, where the SDK's binder would answer only "An error occurred invoking the tool".
/// </summary>
public static class McpArgumentFilter
{
    public static McpRequestHandler<CallToolRequestParams, CallToolResult> CallTool(McpRequestHandler<CallToolRequestParams, CallToolResult> next) =>
        async (context, cancellationToken) =>
        {
            if (context.MatchedPrimitive is McpServerTool tool && Check(tool.ProtocolTool, context.Params?.Arguments) is { } error)
            {
                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = error }] };
            }

            return await next(context, cancellationToken);
        };

    /// <summary>The first problem with <paramref name="arguments"/> for <paramref name="tool"/>, or null.</summary>
    public static string? Check(Tool tool, IDictionary<string, JsonElement>? arguments)
    {
        var schema = tool.InputSchema;
        var properties = schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var names = properties.ValueKind == JsonValueKind.Object ? properties.EnumerateObject().Select(o => o.Name).ToList() : [];
        var accepted = names.Count == 0 ? "none" : string.Join(", ", names);
        arguments ??= new Dictionary<string, JsonElement>();

        foreach (var (name, value) in arguments)
        {
            if (!properties.TryGetProperty(name, out var property))
            {
                return $"Invalid arguments for '{tool.Name}': it takes no argument '{name}'. Arguments: {accepted}.";
            }

            var types = Types(property);
            if (types.Count > 0 && !types.Any(t => Fits(t, value)))
            {
                return $"Invalid arguments for '{tool.Name}': '{name}' must be {string.Join(" or ", types.Where(t => t != "null"))}, not {Kind(value)}. {Describe(properties, name)}";
            }
        }

        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
            {
                if (!arguments.TryGetValue(name, out var given) || given.ValueKind == JsonValueKind.Null)
                {
                    return $"Invalid arguments for '{tool.Name}': '{name}' is required. {Describe(properties, name)}";
                }
            }
        }

        return null;
    }

    private static List<string> Types(JsonElement property) =>
        !property.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.String ? [type.GetString()!]
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!)]
        : [];

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => true,
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"{value.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Describe(JsonElement properties, string name) =>
        properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var property)
            && property.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String
            ? $"'{name}': {description.GetString()}"
            : string.Empty;
}
