using System.Text.Json.Nodes;

namespace StreamIngest.Host.Chat;

/// <summary>
/// An error in OpenAI's envelope, <c>{"error":{"message","type","param","code"}}</c>, for the OpenAI-compatible paths
/// (<c>/v1/chat/completions</c>, <c>/v1/models</c>): the official SDKs read the reason from it and show
/// "400 status code (no body)" for anything else. Every other path answers RFC 7807 Problem Details.
/// </summary>
public sealed record OpenAiError(int Status, string Message, string Type, string? Param = null, string? Code = null) : IResult
{
    /// <summary>Whether a path speaks OpenAI's wire format, so its errors use this envelope.</summary>
    public static bool Applies(PathString path) => path.StartsWithSegments("/v1/chat/completions") || path.StartsWithSegments("/v1/models");

    public static OpenAiError Invalid(string? param, string message, string? code = null) => new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    /// <summary>The envelope for a status any layer produces (keys, scopes, limits, upstream), with OpenAI's type and code for it.</summary>
    public static OpenAiError ForStatus(int status, string message) => status switch
    {
        StatusCodes.Status401Unauthorized => new(status, message, "invalid_request_error", null, "invalid_api_key"),
        StatusCodes.Status403Forbidden => new(status, message, "permission_error", null, "insufficient_scope"),
        StatusCodes.Status404NotFound => new(status, message, "invalid_request_error", null, "not_found"),
        StatusCodes.Status429TooManyRequests => new(status, message, "rate_limit_error", null, "rate_limit_exceeded"),
        StatusCodes.Status502BadGateway => new(status, message, "upstream_error", null, "upstream_failed"),
        StatusCodes.Status503ServiceUnavailable => new(status, message, "service_unavailable", null, "not_configured"),
        StatusCodes.Status504GatewayTimeout => new(status, message, "upstream_error", null, "upstream_timeout"),
        < 500 => new(status, message, "invalid_request_error"),
        _ => new(status, message, "server_error"),
    };

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject { ["message"] = Message, ["type"] = Type, ["param"] = Param, ["code"] = Code },
    };

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = Status;
        httpContext.Response.ContentType = "application/json";
        return httpContext.Response.WriteAsync(ToJson().ToJsonString(), httpContext.RequestAborted);
    }

    /// <summary>
    /// Answers an error in the format the path speaks: this envelope on the OpenAI paths, Problem Details elsewhere.
    /// Used by the layers in front of every endpoint (keys, scopes, rate limits).
    /// </summary>
    public static Task WriteAsync(HttpContext http, int status, string title, string detail) =>
        Applies(http.Request.Path)
            ? ForStatus(status, $"{title}. {detail}").ExecuteAsync(http)
            : Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(http);
}
