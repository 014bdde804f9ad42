namespace StreamIngest.Host.Hosting;

/// <summary>
/// Ends server-sent event streams (watch events, the live tail, MCP's GET stream) when the host begins to stop: their
/// request token also fires on <see cref="IHostApplicationLifetime.ApplicationStopping"/>, so a connected client
/// never holds shutdown to the host's 30 s timeout, past a container's 10 s stop. Other requests finish as usual.
/// </summary>
public sealed class StreamShutdownMiddleware(RequestDelegate next, IHostApplicationLifetime lifetime)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (!IsStream(http.Request))
        {
            await next(http);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        http.RequestAborted = linked.Token;
        await next(http);
    }

    private static bool IsStream(HttpRequest request) =>
        request.Path.StartsWithSegments("/v1/stream")
        || (request.Path.StartsWithSegments("/v1/watches") && request.Path.Value!.EndsWith("/events", StringComparison.Ordinal))
        || (request.Path.StartsWithSegments("/mcp") && HttpMethods.IsGet(request.Method));
}
