using Microsoft.AspNetCore.Http.HttpResults;
using ModelContextProtocol;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// An HTTP endpoint's result as MCP needs it: its value, or its Problem Details as an <see cref="McpException"/>
/// (a tool error, a resource or prompt error) naming each bad argument by its MCP name.
/// </summary>
public static class McpEndpointResult
{
    public static object Value(IResult result) => result switch
    {
        IValueHttpResult { Value: { } value } and IStatusCodeHttpResult { StatusCode: null or < 300 } => value,
        ValidationProblem problem => throw new McpException(
            $"{problem.ProblemDetails.Title}: {string.Join(" ", problem.ProblemDetails.Errors.SelectMany(e => e.Value).Select(McpNames))}"),
        ProblemHttpResult problem => throw new McpException($"{problem.ProblemDetails.Title}: {McpNames(problem.ProblemDetails.Detail ?? string.Empty)}"),
        _ => throw new McpException("The request could not be answered."),
    };

    /// <summary>The HTTP API's parameter names in a message, as the tools name them (<c>'q'</c> is <c>'query'</c>), without URL advice.</summary>
    private static string McpNames(string message) => message
        .Replace("'q'", "'query'", StringComparison.Ordinal)
        .Replace("'max_tokens'", "'maxTokens'", StringComparison.Ordinal)
        .Replace(" (URL-encode $ and # as %24 and %23)", string.Empty, StringComparison.Ordinal);
}
