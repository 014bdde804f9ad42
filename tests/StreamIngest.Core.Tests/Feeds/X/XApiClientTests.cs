using System.Net;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Feeds.X;

namespace StreamIngest.Core.Tests.Feeds.X;

public class XApiClientTests
{
    private sealed class Recording(List<string> calls, string name) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            calls.Add($"{name} {request.RequestUri!.AbsolutePath}");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") });
        }
    }

    [Fact]
    public async Task Stream_GoesOverTheStreamingClient_EveryOtherRequestOverTheRestClient()
    {
        var calls = new List<string>();
        var api = new XApiClient(new XOptions { BearerToken = "t", BaseUrl = "http://x.test" }, new HttpClient(new Recording(calls, "streaming")), new HttpClient(new Recording(calls, "rest")), new FakeTimeProvider());

        (await api.SendAsync(HttpMethod.Get, "/2/tweets/search/stream", null, CancellationToken.None, HttpCompletionOption.ResponseHeadersRead)).Dispose();
        (await api.SendAsync(HttpMethod.Get, "/2/tweets/search/stream/rules", null, CancellationToken.None)).Dispose();
        (await api.SendAsync(HttpMethod.Get, "/2/tweets/search/recent?query=a", null, CancellationToken.None)).Dispose();

        Assert.Equal(["streaming /2/tweets/search/stream", "rest /2/tweets/search/stream/rules", "rest /2/tweets/search/recent"], calls);
    }
}
