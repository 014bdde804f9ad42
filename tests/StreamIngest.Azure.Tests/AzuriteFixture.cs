using System.Net.Sockets;
using Azure.Storage.Blobs;

namespace StreamIngest.Azure.Tests;

/// <summary>
/// Azurite's blob service on 127.0.0.1:10000 (started by .ci/run: <c>azurite-blob --skipApiVersionCheck</c>),
/// or the account in <c>STREAMINGEST_BLOB_CONNECTION</c>. Tests skip with this reason when none answers.
/// </summary>
public static class Azurite
{
    public const string DevelopmentConnection =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    public static string ConnectionString => Environment.GetEnvironmentVariable("STREAMINGEST_BLOB_CONNECTION") ?? DevelopmentConnection;

    public static readonly Lazy<bool> Available = new(() =>
    {
        if (Environment.GetEnvironmentVariable("STREAMINGEST_BLOB_CONNECTION") is not null)
        {
            return true;
        }

        // A synchronous connect: on loopback it is accepted or refused at once, and it needs no thread-pool thread
        // (an async connect waited on with a timeout could time out on a busy test run and skip every Azurite test).
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", 10000);
            return client.Connected;
        }
        catch (SocketException)
        {
            return false;
        }
    });

    public const string NotRunning = "Azurite (blob) is not answering on 127.0.0.1:10000; .ci/run starts it (npm azurite, --skipApiVersionCheck)";

    /// <summary>A new, empty container owned by one test.</summary>
    public static async Task<BlobContainerClient> NewContainerAsync()
    {
        var container = new BlobServiceClient(ConnectionString).GetBlobContainerClient("t" + Guid.NewGuid().ToString("N"));
        await container.CreateAsync();
        return container;
    }
}
