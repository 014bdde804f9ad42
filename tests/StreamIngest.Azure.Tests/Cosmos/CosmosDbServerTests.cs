using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Embed;
using StreamIngest.Model;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Tests;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The real <c>Microsoft.Azure.Cosmos</c> SDK over HTTP against <c>@vercel/cosmosdb-server</c> 1.0.1 (npm; .ci/run
/// starts it on 127.0.0.1:3101 and sets <c>STREAMINGEST_COSMOSDB_SERVER</c>), for what that server serves: point
/// reads, creates, upserts, patches with If-Match and filter predicates, single-partition queries. It serves no
/// transactional batch, ORDER BY, query plans, filter predicates or vector search (those stay with the query-text
/// tests and a real account), and it fails a point read of a missing item with 500, which <see cref="FaultHandler"/>
/// answers as the service does (404).
/// Faults are injected in the SDK's own HTTP pipeline with a <see cref="DelegatingHandler"/>.
/// </summary>
public sealed class CosmosDbServerTests
{
    private static readonly string? Server = CosmosDbServer.Endpoint;
    private const string Skipped = CosmosDbServer.Skipped;

    private static CosmosClient Client(FaultHandler? faults = null) => CosmosDbServer.Client(faults);

    private static Task<Container> NewContainerAsync(CosmosClient client) => CosmosDbServer.NewContainerAsync(client);

    [SkippableFact]
    public async Task Keys_RevokedThroughOneReplica_AreRevokedForAnother()
    {
        Skip.If(Server is null, Skipped);
        using var first = Client();
        using var second = Client();
        var container = await NewContainerAsync(first);
        var a = new CosmosApiKeyStore(container);
        var b = new CosmosApiKeyStore(second.GetContainer(container.Database.Id, container.Id));
        var record = Key("trading-app", ["search", "ground"], 120);

        await a.AddAsync(record, CancellationToken.None);
        var seen = Assert.Single(await b.ListAsync(CancellationToken.None));
        var revoked = await a.RevokeAsync(record.Id, DateTimeOffset.UtcNow, CancellationToken.None);
        var again = await b.RevokeAsync(record.Id, DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Equal((record.Sha256, 120), (seen.Sha256, seen.RequestsPerMinute));
        Assert.Equal(["search", "ground"], seen.Scopes);
        Assert.Null(seen.RevokedAt);
        Assert.True(revoked);
        Assert.False(again); // revoked once, under the ETag
        Assert.NotNull(Assert.Single(await b.ListAsync(CancellationToken.None)).RevokedAt);
    }

    [SkippableFact]
    public async Task Engagement_RedeliveredAndTimedOutAfterLanding_IsCountedOnce()
    {
        Skip.If(Server is null, Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = Client(faults);
        var container = await NewContainerAsync(client);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new CosmosPostStore(container, null, new CosmosOptions(), TimeSpan.FromHours(48), new NoEmbedder(), new HybridRanker(new RankingOptions(), time), new TestMeterFactory(), time);
        var post = new Post
        {
            Id = "bsky:did:plc:a/1", Source = "bsky", NativeId = "did:plc:a/1", CreatedAt = time.GetUtcNow(), Text = "river rising",
            Provenance = new Provenance("test", "test", time.GetUtcNow(), "00"), Metrics = new Engagement(Likes: 2),
        };
        await store.UpsertAsync([post], CancellationToken.None);
        EngagementEvent Like(long seq) => new(new Engagement(Likes: 1), new TransportPosition("eventhubs/0", seq));

        // The first patch lands, but its answer is lost (408): the store reads again and sees it applied.
        var patches = 0;
        faults.Fault = r => r.Method == HttpMethod.Patch && ++patches == 1 ? (HttpStatusCode.RequestTimeout, true) : null;
        await store.AddEngagementAsync(new Dictionary<string, IReadOnlyList<EngagementEvent>> { [post.Id] = [Like(10), Like(11)] }, CancellationToken.None);
        faults.Fault = _ => null;
        // The partition is read again from an older checkpoint, in a larger batch.
        await store.AddEngagementAsync(new Dictionary<string, IReadOnlyList<EngagementEvent>> { [post.Id] = [Like(10), Like(11), Like(12)] }, CancellationToken.None);
        await store.AddEngagementAsync(new Dictionary<string, IReadOnlyList<EngagementEvent>> { [post.Id] = [Like(12)] }, CancellationToken.None);

        Assert.Equal(5, (await store.GetAsync(post.Id, CancellationToken.None))!.Metrics!.Likes); // 2 + 10, 11, 12: each once
        Assert.Equal(1, patches);
    }

    [SkippableFact]
    public async Task Throttling_IsRetriedByTheSdkAlone_ABoundedNumberOfTimes()
    {
        Skip.If(Server is null, Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = Client(faults);
        var container = await NewContainerAsync(client);
        var keys = new CosmosApiKeyStore(container);
        var record = Key("app", ["search"], 60);
        var throttled = 0;
        faults.Fault = r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/docs", StringComparison.Ordinal) && ++throttled <= 2
            ? (HttpStatusCode.TooManyRequests, false)
            : null;

        await keys.AddAsync(record, CancellationToken.None); // two 429s, then through: retried by the SDK
        var listed = await keys.ListAsync(CancellationToken.None);
        var sentBefore = Writes(faults);
        throttled = -100; // every write throttled from here on
        var error = await Assert.ThrowsAsync<CosmosException>(() => keys.AddAsync(Key("b", ["search"], 60), CancellationToken.None));

        Assert.Equal(3, sentBefore); // the first write: two 429s and the one that went through
        Assert.Single(listed);
        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        Assert.Equal(1 + 3, Writes(faults) - sentBefore); // MaxRetryAttemptsOnRateLimitedRequests = 3, and nobody retries it again
    }

    private static int Writes(FaultHandler faults)
    {
        lock (faults.Seen)
        {
            return faults.Seen.Count(s => s.StartsWith("POST", StringComparison.Ordinal) && s.EndsWith("/docs", StringComparison.Ordinal));
        }
    }

    private static ApiKeyRecord Key(string name, string[] scopes, int perMinute)
    {
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
        return new ApiKeyRecord("key_" + hash[..12], name, hash, scopes, perMinute, DateTimeOffset.UtcNow);
    }

    [SkippableFact]
    public async Task EnsureContainer_PoliciesRefusedByAnEmulator_CreatesItWithoutThemAndStarts()
    {
        Skip.If(Server is null, Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = Client(faults);
        var options = new CosmosOptions { Database = "streamingest-tests", Container = "c" + Guid.NewGuid().ToString("N")[..12] };
        var refused = 0;
        faults.Fault = r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/colls", StringComparison.Ordinal)
            && r.Content!.ReadAsStringAsync().GetAwaiter().GetResult().Contains("vectorEmbeddingPolicy", StringComparison.Ordinal) && ++refused > 0
            ? (HttpStatusCode.BadRequest, false)
            : null;

        var container = await CosmosPostStore.EnsureContainerAsync(client, options, TimeSpan.FromHours(48), CancellationToken.None);
        var keys = new CosmosApiKeyStore(container);
        await keys.AddAsync(Key("app", ["search"], 60), CancellationToken.None);

        Assert.Equal(1, refused); // the full definition was asked for first
        Assert.Single(await keys.ListAsync(CancellationToken.None)); // and the plain container serves the roles
    }

    private sealed class NoEmbedder : IEmbedder
    {
        public string Model => "none";

        public int Dimensions => 384;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
