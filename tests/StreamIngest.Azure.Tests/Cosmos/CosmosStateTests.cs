using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Enrich.Signals;
using StreamIngest.Store;
using StreamIngest.Watches;

namespace StreamIngest.Azure.Tests.Cosmos;

/// <summary>
/// The state container and what lives in it: its narrow index against the queries that use it, entity-count rollups,
/// watch documents without vectors or secrets, and start-up that waits out an identity not yet allowed in. The SDK
/// tests run the real <c>Microsoft.Azure.Cosmos</c> client against <c>@vercel/cosmosdb-server</c>.
/// </summary>
public sealed class CosmosStateTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void StateContainer_IndexesOnlyWhatItsQueriesFilterAndSortOn()
    {
        var properties = CosmosStateContainer.PropertiesFor(new CosmosOptions());
        string[] queries = [CosmosWatchStore.ListQuery, CosmosWatchStore.EventsQueryText, CosmosWatchStore.DeliveriesQuery, CosmosDeadLetterStore.ListQuery];
        var used = queries
            .SelectMany(q => Regex.Matches(q[q.IndexOf(" WHERE ", StringComparison.Ordinal)..], @"\bc\.(\w+)").Select(m => $"/{m.Groups[1].Value}/?"))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal("state", properties.Id);
        Assert.Equal("/pk", properties.PartitionKeyPath);
        Assert.Equal(-1, properties.DefaultTimeToLive); // on, and each document says when it expires
        Assert.Equal(["/*"], properties.IndexingPolicy.ExcludedPaths.Select(p => p.Path));
        Assert.Subset(properties.IndexingPolicy.IncludedPaths.Select(p => p.Path).ToHashSet(StringComparer.Ordinal), used);
        Assert.Contains("/bucketMs/?", properties.IndexingPolicy.IncludedPaths.Select(p => p.Path));
    }

    [Fact]
    public void Options_StateContainerMustDifferFromThePosts()
    {
        var errors = new CosmosOptions { ConnectionString = "x", StateContainer = "posts" }.Validate().ToList();

        Assert.Contains(errors, e => e.Contains("Cosmos:StateContainer", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Rollups_TwoReplicasRacingForOneBucket_KeepBothCounts()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var a = CosmosDbServer.Client(faults);
        using var b = CosmosDbServer.Client();
        var container = await CosmosDbServer.NewContainerAsync(a);
        var time = TimeProvider.System; // the retry after a lost race backs off on real time
        var bucket = Bursts.BucketOf(time.GetUtcNow());
        var replicaA = new CosmosEntityCountStore(container, time, TimeSpan.FromSeconds(30));
        var replicaB = new CosmosEntityCountStore(b.GetContainer(container.Database.Id, container.Id), time, TimeSpan.FromSeconds(30));
        await replicaA.AddAsync([new EntityCount("$NVDA", bucket, 3, 0.6, 2), new EntityCount("#flood", bucket, 1, 0, 0)], CancellationToken.None);
        await replicaB.AddAsync([new EntityCount("$NVDA", bucket, 2, -0.2, 1)], CancellationToken.None);
        await replicaB.FlushAsync(CancellationToken.None); // creates the bucket

        // A's first replace loses to a write B made after A read (412): A reads again and merges.
        var replaces = 0;
        faults.Fault = r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.Contains("/docs/", StringComparison.Ordinal) && ++replaces == 1 ? (HttpStatusCode.PreconditionFailed, false) : null;
        await replicaA.FlushAsync(CancellationToken.None);
        var counts = await new CosmosEntityCountStore(container, time, TimeSpan.FromSeconds(30)).ReadAsync(bucket, CancellationToken.None);

        var nvda = Assert.Single(counts, c => c.Entity == "$NVDA");
        Assert.Equal((5L, 0.4, 3L), (nvda.Posts, Math.Round(nvda.SentimentSum, 6), nvda.SentimentPosts));
        Assert.Equal(1, Assert.Single(counts, c => c.Entity == "#flood").Posts);
        Assert.Equal(2, replaces);
        Assert.Equal(0, replicaA.PendingBuckets);
    }

    [SkippableFact]
    public async Task Rollups_AFlushThatFails_KeepsItsCountsForTheNext()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = CosmosDbServer.Client(faults);
        var container = await CosmosDbServer.NewContainerAsync(client);
        var time = new FakeTimeProvider(Noon.AddMinutes(3));
        var store = new CosmosEntityCountStore(container, time, TimeSpan.FromSeconds(30), NullLogger.Instance);
        await store.AddAsync([new EntityCount("$AAPL", Noon, 4, 0, 0)], CancellationToken.None);

        faults.Fault = r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/docs", StringComparison.Ordinal) ? (HttpStatusCode.RequestTimeout, false) : null;
        await store.FlushAsync(CancellationToken.None);
        var keptAfterFailure = store.PendingBuckets;
        faults.Fault = _ => null;
        await store.AddAsync([new EntityCount("$AAPL", Noon, 1, 0, 0)], CancellationToken.None);
        await store.FlushAsync(CancellationToken.None);

        Assert.Equal(1, keptAfterFailure);
        Assert.Equal(5, Assert.Single(await store.ReadAsync(Noon, CancellationToken.None)).Posts);
    }

    [SkippableFact]
    public async Task Rollups_ADashboardPoll_ReadsOnlyTheBucketsStillOpen()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        using var client = CosmosDbServer.Client();
        var container = await CosmosDbServer.NewContainerAsync(client);
        var time = new FakeTimeProvider(Noon);
        var writer = new CosmosEntityCountStore(container, time, TimeSpan.FromSeconds(30));
        await writer.AddAsync([.. Enumerable.Range(0, 12).Select(i => new EntityCount("#storm", Noon.AddMinutes(-5 * i), 1 + i, 0, 0))], CancellationToken.None);
        await writer.FlushAsync(CancellationToken.None);
        var reader = new CosmosEntityCountStore(container, time, TimeSpan.FromSeconds(30));

        var first = await reader.ReadAsync(Noon.AddHours(-1), CancellationToken.None);
        var readsFirst = reader.PointReads;
        time.Advance(TimeSpan.FromSeconds(2)); // the next poll
        var second = await reader.ReadAsync(Noon.AddHours(-1), CancellationToken.None);

        Assert.Equal(13, readsFirst); // 12:00 back to 11:00, one point read per 5-minute bucket
        Assert.Equal(first.Sum(c => c.Posts), second.Sum(c => c.Posts));
        Assert.Equal(78, second.Sum(c => c.Posts));
        Assert.InRange(reader.PointReads - readsFirst, 1, 2); // only the buckets a replica may still flush into
        Assert.Equal(Bursts.BucketOf(Noon), second.Max(c => c.Bucket));
    }

    [SkippableFact]
    public async Task Watches_ListedWithoutVectorOrSecret_DetailReadOncePerReplica()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        using var client = CosmosDbServer.Client();
        var container = await CosmosDbServer.NewContainerAsync(client);
        var vector = Enumerable.Range(0, 384).Select(i => i == 7 ? 1f : 0f).ToArray();
        var watch = new Watch { Id = "w1", Query = "nvidia earnings", Vector = vector, WebhookUrl = new Uri("http://127.0.0.1:9/hook"), WebhookSecret = "s3cret-value", CreatedAt = Noon };
        await new CosmosWatchStore(container).AddAsync(watch, CancellationToken.None);
        var otherReplica = new CosmosWatchStore(client.GetContainer(container.Database.Id, container.Id));

        var raw = await container.ReadItemAsync<JsonElement>("watch-w1", new PartitionKey(CosmosWatchStore.WatchesPartition));
        var listed = await otherReplica.ListAsync(CancellationToken.None);
        var again = await otherReplica.ListAsync(CancellationToken.None);

        Assert.DoesNotContain("s3cret-value", raw.Resource.GetRawText(), StringComparison.Ordinal);
        Assert.True(raw.Resource.GetRawText().Length < 1000, raw.Resource.GetRawText());
        Assert.Equal(vector, Assert.Single(listed).Vector);
        Assert.Equal("s3cret-value", Assert.Single(again).WebhookSecret);
        Assert.Equal(1, otherReplica.DetailReads);
    }

    [SkippableFact]
    public async Task Watches_LastEventSeq_IsTheCountersPointRead()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        using var client = CosmosDbServer.Client();
        var container = await CosmosDbServer.NewContainerAsync(client);
        var store = new CosmosWatchStore(container);
        var none = await store.GetLastEventSeqAsync("w2", CancellationToken.None);
        await container.UpsertItemAsync(new CosmosWatchStore.CounterDocument("counter", CosmosWatchStore.PartitionOf("w2"), 7, -1), new PartitionKey(CosmosWatchStore.PartitionOf("w2")));

        Assert.Equal(0, none);
        Assert.Equal(7, await store.GetLastEventSeqAsync("w2", CancellationToken.None));
    }

    [SkippableFact]
    public async Task Startup_CreatesBothContainers_AndWaitsOutAnIdentityNotYetAllowed()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = CosmosDbServer.Client(faults);
        var options = new CosmosOptions { Database = "streamingest-tests", Container = "p" + Guid.NewGuid().ToString("N")[..12], StateContainer = "s" + Guid.NewGuid().ToString("N")[..12], CreateIfMissing = true, AccessWaitSeconds = 60 };
        var containers = new CosmosContainers(client.GetContainer(options.Database, options.Container), client.GetContainer(options.Database, options.StateContainer));
        var refused = 0;
        faults.Fault = r => r.Method == HttpMethod.Get && r.RequestUri!.AbsolutePath.EndsWith("/docs/" + CosmosHealthProbe.Id, StringComparison.Ordinal) && ++refused <= 2 ? (HttpStatusCode.Forbidden, false) : null;

        await new CosmosStartup(client, containers, options, TimeSpan.FromHours(48), TimeProvider.System, NullLoggerFactory.Instance).StartAsync(CancellationToken.None);
        var state = await containers.State.ReadContainerAsync();

        Assert.Equal(4, refused); // two refusals of the posts probe waited out, then both probes allowed
        Assert.Equal("/pk", state.Resource.PartitionKeyPath);
        Assert.Equal(HttpStatusCode.OK, (await containers.Posts.ReadContainerAsync()).StatusCode);
    }

    [SkippableFact]
    public async Task StateContainer_PolicyRefusedByAnEmulator_IsCreatedWithTheDefaultOne()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = CosmosDbServer.Client(faults);
        var options = new CosmosOptions { Database = "streamingest-tests", StateContainer = "s" + Guid.NewGuid().ToString("N")[..12] };
        var refused = 0;
        faults.Fault = r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/colls", StringComparison.Ordinal)
            && r.Content!.ReadAsStringAsync().GetAwaiter().GetResult().Contains("/bucketMs/?", StringComparison.Ordinal) && ++refused > 0
            ? (HttpStatusCode.BadRequest, false)
            : null;

        var state = await CosmosStateContainer.EnsureAsync(client, options, CancellationToken.None);
        await new CosmosCursorStore(state, TimeProvider.System).SetAsync("bsky", "cursor-1", CancellationToken.None);

        Assert.Equal(1, refused);
        Assert.Equal("cursor-1", await new CosmosCursorStore(state, TimeProvider.System).GetAsync("bsky", CancellationToken.None));
    }

    [SkippableFact]
    public async Task Startup_PostsContainerMadeForAnotherVectorLength_IsRefusedNamingTheKeys()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        using var client = CosmosDbServer.Client();
        var options = new CosmosOptions { Database = "streamingest-tests", Container = "p" + Guid.NewGuid().ToString("N")[..12], StateContainer = "s" + Guid.NewGuid().ToString("N")[..12], CreateIfMissing = true, VectorIndexType = "quantizedFlat" };
        var containers = new CosmosContainers(client.GetContainer(options.Database, options.Container), client.GetContainer(options.Database, options.StateContainer));
        await new CosmosStartup(client, containers, options, TimeSpan.FromHours(48), TimeProvider.System, NullLoggerFactory.Instance).StartAsync(CancellationToken.None); // made for 384

        options.EmbeddingDimensions = 1536; // the embedder switched to text-embedding-3-small at full length
        options.CreateIfMissing = false; // as deployed by Bicep: the check is start-up's own metadata read
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new CosmosStartup(client, containers, options, TimeSpan.FromHours(48), TimeProvider.System, NullLoggerFactory.Instance).StartAsync(CancellationToken.None));

        Assert.Contains("384-dimensional vectors but the embedder makes 1536", error.Message, StringComparison.Ordinal);
        Assert.Contains("Embedding:OpenAI:Dimensions", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Startup_NoWaitConfigured_FailsOnTheFirstRefusal()
    {
        Skip.If(CosmosDbServer.Endpoint is null, CosmosDbServer.Skipped);
        var faults = new FaultHandler { InnerHandler = new HttpClientHandler() };
        using var client = CosmosDbServer.Client(faults);
        var container = await CosmosDbServer.NewContainerAsync(client);
        var options = new CosmosOptions { Database = container.Database.Id, Container = container.Id, StateContainer = container.Id + "s", AccessWaitSeconds = 0 };
        faults.Fault = r => r.Method == HttpMethod.Get && r.RequestUri!.AbsolutePath.Contains("/docs/", StringComparison.Ordinal) ? (HttpStatusCode.Forbidden, false) : null;

        var error = await Assert.ThrowsAsync<CosmosException>(() => new CosmosStartup(client, new CosmosContainers(container, container), options, TimeSpan.FromHours(48), TimeProvider.System, NullLoggerFactory.Instance).StartAsync(CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
    }
}
