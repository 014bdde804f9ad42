using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace StreamIngest.Feeds.X;

/// <summary>
/// Requests to the X API v2 with the bearer token, and its failures as <see cref="XApiException"/>s: 429 with the
/// time until <c>x-rate-limit-reset</c>, other non-2xx by status. Shared by the stream, search and trends loops.
/// The stream goes over <paramref name="streaming"/> (no timeout; stalls are detected per read), every other
/// request over <paramref name="rest"/> (with a timeout: a request that hangs fails and is retried).
/// </summary>
public sealed class XApiClient(XOptions options, HttpClient streaming, HttpClient rest, TimeProvider timeProvider)
{
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(method, options.BaseUrl.TrimEnd('/') + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.BearerToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var http = completion == HttpCompletionOption.ResponseHeadersRead ? streaming : rest;
        var response = await http.SendAsync(request, completion, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                TimeSpan? resetIn = null;
                if (response.Headers.TryGetValues("x-rate-limit-reset", out var values)
                    && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch))
                {
                    resetIn = DateTimeOffset.FromUnixTimeSeconds(epoch) - timeProvider.GetUtcNow();
                }

                throw new XApiException(XFailure.RateLimited, $"HTTP 429 on {path.Split('?')[0]}", resetIn);
            }

            throw new XApiException(XFailure.Http, $"HTTP {(int)response.StatusCode} on {path.Split('?')[0]}");
        }
    }
}
