using System.Text.Json;

namespace StreamIngest.Host.Auth;

/// <summary>
/// Tells MCP protocol traffic (initialize, notifications, tools/list, ping) from calls that do work (tools/call,
/// resources/read, prompts/get) by the JSON-RPC method of a <c>POST /mcp</c> body, read without consuming it.
/// Protocol traffic gets its own budget, so a key allowed 5 calls a minute can still connect and call.
/// </summary>
public static class McpJsonRpc
{
    private const int MaxPeekBytes = 1 << 20;

    private static readonly HashSet<string> Work = new(StringComparer.Ordinal) { "tools/call", "resources/read", "prompts/get", "completion/complete" };

    public static async Task<bool> IsProtocolTrafficAsync(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return true; // GET (the stream) and DELETE (end of session) do no work
        }

        request.EnableBuffering(MaxPeekBytes);
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            var messages = document.RootElement.ValueKind == JsonValueKind.Array ? [.. document.RootElement.EnumerateArray()] : new[] { document.RootElement };
            return messages.All(m => m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("method", out var method)
                || method.ValueKind != JsonValueKind.String
                || !Work.Contains(method.GetString()!));
        }
        catch (JsonException)
        {
            return false; // charged like a call; the MCP server answers the parse error
        }
        finally
        {
            request.Body.Position = 0;
        }
    }
}
