using System.Globalization;
using StreamIngest.Capacity;
using StreamIngest.Host.Auth;
using StreamIngest.Store;

namespace StreamIngest.Host.Capacity;

/// <summary>
/// The capacity gate on the HTTP query paths (search, sentiment, ground, chat), after the key's own rate limit: a
/// query the cores have no room for is refused at once with 429, <c>Retry-After</c> (whole seconds, RFC 9110) and
/// <c>retry-after-ms</c> (what the OpenAI SDKs read), as Problem Details, or OpenAI's error envelope on its paths.
/// Keys with the <c>admin</c> scope have priority (<see cref="CapacityOptions.PriorityShare"/>).
/// </summary>
public sealed class QueryAdmissionMiddleware(RequestDelegate next, QueryAdmission admission)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (!admission.Enabled || !IsQuery(http.Request))
        {
            await next(http);
            return;
        }

        if (!admission.TryEnter(HasPriority(http), out var lease, out var refusal))
        {
            await RefuseAsync(http, refusal);
            return;
        }

        using (lease)
        {
            await next(http);
        }
    }

    /// <summary>Requests that embed a question and search: what competes with ingest for the cores.</summary>
    public static bool IsQuery(HttpRequest request) =>
        request.Path.StartsWithSegments("/v1/search") || request.Path.StartsWithSegments("/v1/sentiment")
        || (HttpMethods.IsPost(request.Method) && (request.Path.StartsWithSegments("/v1/ground") || request.Path.StartsWithSegments("/v1/chat/completions")));

    public static bool HasPriority(HttpContext http) => http.Items[ApiKeyMiddleware.ItemKey] is ApiKeyRecord key && key.Scopes.Contains(Scopes.Admin);

    private static Task RefuseAsync(HttpContext http, Refusal refusal)
    {
        var ms = Math.Max(1, (int)Math.Ceiling(refusal.RetryAfter.TotalMilliseconds));
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(refusal.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["retry-after-ms"] = ms.ToString(CultureInfo.InvariantCulture);
        return Chat.OpenAiError.WriteAsync(http, StatusCodes.Status429TooManyRequests, "The service is at capacity", Detail(refusal, ms));
    }

    public static string Detail(Refusal refusal, int retryAfterMs) => refusal.Reason == RefusalReason.Rate
        ? $"Queries are limited while the cores keep ingest fresh; retry after {retryAfterMs} ms."
        : $"The most queries that may run at once are running; retry after {retryAfterMs} ms.";
}
