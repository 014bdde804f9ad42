using System.Net;
using Microsoft.Azure.Cosmos;
using StreamIngest.Model;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The real SDK's way to <c>@vercel/cosmosdb-server</c> (see <see cref="CosmosDbServerTests"/>): Gateway mode over HTTP,
/// with a <see cref="FaultHandler"/> in the SDK's own HTTP pipeline.
/// </summary>
internal static class CosmosDbServer
{
    public static readonly string? Endpoint = Environment.GetEnvironmentVariable("STREAMINGEST_COSMOSDB_SERVER");

    public const string Skipped = "no @vercel/cosmosdb-server (set STREAMINGEST_COSMOSDB_SERVER=http://127.0.0.1:3101; .ci/run starts it)";

    private static readonly string AccountKey = Convert.ToBase64String(new byte[64]);

    public static CosmosClient Client(FaultHandler? faults = null) => new($"AccountEndpoint={Endpoint}/;AccountKey={AccountKey}", new CosmosClientOptions
    {
        ConnectionMode = ConnectionMode.Gateway,
        LimitToEndpoint = true,
        UseSystemTextJsonSerializerWithOptions = PostJson.Options,
        MaxRetryAttemptsOnRateLimitedRequests = 3,
        MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(5),
        HttpClientFactory = () => new HttpClient((HttpMessageHandler?)faults ?? new FaultHandler { InnerHandler = new HttpClientHandler() }) { Timeout = TimeSpan.FromSeconds(30) },
    });

    public static async Task<Container> NewContainerAsync(CosmosClient client)
    {
        var database = (await client.CreateDatabaseIfNotExistsAsync("streamingest-tests")).Database;
        return (await database.CreateContainerIfNotExistsAsync(new ContainerProperties("c" + Guid.NewGuid().ToString("N")[..12], "/pk"))).Container;
    }
}

/// <summary>
/// Answers chosen requests with a status of its own, after or instead of sending them on. It also answers a point read
/// of a missing item with the service's 404 (substatus 0), where cosmosdb-server fails with a 500.
/// </summary>
internal sealed class FaultHandler : DelegatingHandler
{
    public Func<HttpRequestMessage, (HttpStatusCode Status, bool SendFirst)?> Fault { get; set; } = _ => null;

    public List<string> Seen { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (Seen)
        {
            Seen.Add($"{request.Method} {request.RequestUri!.AbsolutePath}");
        }

        if (Fault(request) is { } fault)
        {
            if (fault.SendFirst)
            {
                (await base.SendAsync(request, cancellationToken)).Dispose();
            }

            var injected = new HttpResponseMessage(fault.Status) { RequestMessage = request, Content = new StringContent("{\"code\":\"injected\",\"message\":\"injected\"}") };
            if (fault.Status == HttpStatusCode.TooManyRequests)
            {
                injected.Headers.TryAddWithoutValidation("x-ms-retry-after-ms", "10");
                injected.Headers.TryAddWithoutValidation("x-ms-substatus", "3200");
            }

            return injected;
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.InternalServerError && request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.Contains("/docs/", StringComparison.Ordinal))
        {
            response.Dispose();
            var missing = new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request, Content = new StringContent("{\"code\":\"NotFound\",\"message\":\"Entity with the specified id does not exist in the system.\"}") };
            missing.Headers.TryAddWithoutValidation("x-ms-substatus", "0");
            return missing;
        }

        return response;
    }
}
