using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using StreamIngest.Capacity;
using StreamIngest.Host.Capacity;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// The capacity gate for the MCP tools that embed a question and search (<c>search_posts</c>, <c>ground_question</c>,
/// <c>get_sentiment</c>): beyond capacity the call returns at once as a tool error the agent can read ("at capacity,
/// retry after N ms"), the MCP form of the HTTP paths' 429. The protocol's own traffic is never refused.
/// </summary>
public static class McpAdmissionFilter
{
    private static readonly HashSet<string> QueryTools = new(StringComparer.Ordinal) { "search_posts", "ground_question", "get_sentiment" };

    public static McpRequestHandler<CallToolRequestParams, CallToolResult> CallTool(McpRequestHandler<CallToolRequestParams, CallToolResult> next) =>
        async (context, cancellationToken) =>
        {
            var admission = context.Services?.GetService<QueryAdmission>();
            if (admission is null || !admission.Enabled || context.Params?.Name is not { } name || !QueryTools.Contains(name))
            {
                return await next(context, cancellationToken);
            }

            var http = context.Services?.GetService<IHttpContextAccessor>()?.HttpContext;
            if (!admission.TryEnter(http is not null && QueryAdmissionMiddleware.HasPriority(http), out var lease, out var refusal))
            {
                var ms = Math.Max(1, (int)Math.Ceiling(refusal.RetryAfter.TotalMilliseconds));
                return new CallToolResult
                {
                    IsError = true,
                    Content = [new TextContentBlock { Text = $"At capacity: {QueryAdmissionMiddleware.Detail(refusal, ms)}" }],
                    Meta = new System.Text.Json.Nodes.JsonObject { ["retry_after_ms"] = ms },
                };
            }

            using (lease)
            {
                return await next(context, cancellationToken);
            }
        };
}
