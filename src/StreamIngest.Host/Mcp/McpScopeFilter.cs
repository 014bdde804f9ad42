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
        async (context, cancellationToken) =>
        {
            var key = context.Services?.GetService<IHttpContextAccessor>()?.HttpContext?.Items[ApiKeyMiddleware.ItemKey] as ApiKeyRecord;
            var needed = context.MatchedPrimitive?.Metadata.OfType<RequiresScopeAttribute>().FirstOrDefault()?.Scope;
            if (key is not null && (needed is null || !(key.Scopes.Contains(needed) || key.Scopes.Contains(Scopes.Admin))))
            {
                return new CallToolResult
                {
                    IsError = true,
                    Content =
                    [
                        new TextContentBlock
                        {
                            Text = $"Forbidden: the tool '{context.Params?.Name}' needs the '{needed ?? Scopes.Admin}' scope; the key '{key.Name}' has: {string.Join(", ", key.Scopes)}.",
                        },
                    ],
                };
            }

            return await next(context, cancellationToken);
        };
}
