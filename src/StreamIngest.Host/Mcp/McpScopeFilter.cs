using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using StreamIngest.Host.Auth;
using StreamIngest.Store;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// Each MCP tool needs the scope its HTTP endpoint needs (<see cref="RequiresScopeAttribute"/>): a key with only
/// <c>search</c> that calls <c>ground_question</c> gets a tool error naming the scope, as <c>POST /v1/ground</c>
/// answers it 403. Without keys (a loopback host with none) every tool is open, as every endpoint is.
/// </summary>
public static class McpScopeFilter
{
    public static McpRequestHandler<CallToolRequestParams, CallToolResult> CallTool(McpRequestHandler<CallToolRequestParams, CallToolResult> next) =>
        async (context, cancellationToken) => Refusal(context, context.Params?.Name) is { } refused
            ? new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = refused }] }
            : await next(context, cancellationToken);

    public static McpRequestHandler<ReadResourceRequestParams, ReadResourceResult> ReadResource(McpRequestHandler<ReadResourceRequestParams, ReadResourceResult> next) =>
        async (context, cancellationToken) => Refusal(context, context.Params?.Uri) is { } refused
            ? throw new McpProtocolException(refused, McpErrorCode.InvalidRequest)
            : await next(context, cancellationToken);

    public static McpRequestHandler<GetPromptRequestParams, GetPromptResult> GetPrompt(McpRequestHandler<GetPromptRequestParams, GetPromptResult> next) =>
        async (context, cancellationToken) => Refusal(context, context.Params?.Name) is { } refused
            ? throw new McpProtocolException(refused, McpErrorCode.InvalidRequest)
            : await next(context, cancellationToken);

    /// <summary>Why the caller's key may not use the matched tool, resource or prompt; null when it may (or no keys are in use).</summary>
    private static string? Refusal<T>(RequestContext<T> context, string? what)
    {
        var key = context.Services?.GetService<IHttpContextAccessor>()?.HttpContext?.Items[ApiKeyMiddleware.ItemKey] as ApiKeyRecord;
        var needed = context.MatchedPrimitive?.Metadata.OfType<RequiresScopeAttribute>().FirstOrDefault()?.Scope;
        return key is not null && (needed is null || !(key.Scopes.Contains(needed) || key.Scopes.Contains(Scopes.Admin)))
            ? $"Forbidden: '{what}' needs the '{needed ?? Scopes.Admin}' scope; the key '{key.Name}' has: {string.Join(", ", key.Scopes)}."
            : null;
    }
}
