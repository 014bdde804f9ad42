using System.Collections.Concurrent;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Embed;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Health;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Store;
using StreamIngest.TestBroker;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>
/// The distributed roles when things fail: a batch that cannot be stored or dead-lettered must not be skipped
/// by a later checkpoint, and roles started while the hub is down must wait, say so, and recover when it returns.
/// Real SDK clients, the AMQP test broker and Blob checkpoints on Azurite.
/// </summary>
public sealed class DistributedRecoveryTests(ITestOutputHelper output)
{
    /// <summary>Cheap deterministic vectors: these tests are about delivery, not meaning.</summary>
    private sealed class HashEmbedder : IEmbedder
    {
        public string Model => "hash";

        public int Dimensions => 384;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(t =>
            {
                var v = new float[384];
                v[(t.GetHashCode(StringComparison.Ordinal) & int.MaxValue) % 384] = 1;
                return v;
            }).ToArray());
    }

    /// <summary>Fails every write of a batch holding <paramref name="poisonId"/> until it has failed <paramref name="failures"/> times.</summary>
    private sealed class FailingStore(IPostStore inner, string poisonId, int failures) : IPostStore
    {
        private int _failed;

        public int Failed => Volatile.Read(ref _failed);

        public Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken) =>
            posts.Any(p => p.Id == poisonId) && Interlocked.Increment(ref _failed) <= failures
                ? throw new IOException("store unavailable for this batch")
                : inner.UpsertAsync(posts, cancellationToken);

        public Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) => inner.DeleteAsync(ids, cancellationToken);

        public Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken) => inner.AddEngagementAsync(deltas, cancellationToken);

        public Task<Post?> GetAsync(string id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken) =>
            inner.FindByContentHashAsync(contentHashes, cancellationToken);

        public Task<long> CountAsync(CancellationToken cancellationToken) => inner.CountAsync(cancellationToken);

        public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => inner.PurgeAsync(cutoff, cancellationToken);
    }

    /// <summary>A dead-letter store that is down (throws) while <see cref="Down"/> is set.</summary>
    private sealed class SwitchableDeadLetters(IDeadLetterStore inner) : IDeadLetterStore
    {
        public volatile bool Down = true;

        public Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken) =>
            Down ? throw new IOException("dead-letter store unavailable") : inner.WriteAsync(deadLetter, cancellationToken);

        public Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken) => inner.ListAsync(limit, cancellationToken);
    }

    private static Post NewPost(int i) => DistributedPipelineTests.NewPost(i);

    /// <summary>The process stage every test here runs behind its processor: clean-up, hash vectors, the given store, cursors in the same file.</summary>
    private static PostProcessor Processing(IPostStore store, SqliteDatabase db, IDeadLetterStore deadLetters, PipelineMetrics metrics) =>
        new([new StandardEnricher()], new HashEmbedder(), store, new SqliteCursorStore(db, TimeProvider.System), deadLetters, metrics, TimeProvider.System, NullLogger<PostProcessor>.Instance);

    private static EventProcessorOptions FastProcessor(string name) => new()
    {
        Identifier = name,
        LoadBalancingUpdateInterval = TimeSpan.FromMilliseconds(500),
        PartitionOwnershipExpirationInterval = TimeSpan.FromSeconds(3),
        RetryOptions = new EventHubsRetryOptions { MaximumRetries = 2, Delay = TimeSpan.FromMilliseconds(100), MaximumDelay = TimeSpan.FromMilliseconds(500), TryTimeout = TimeSpan.FromSeconds(5) },
    };

    [SkippableFact]
    public async Task BatchThatCanBeNeitherStoredNorDeadLettered_IsHandedOverAgain_NotSkippedByALaterCheckpoint()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        const int posts = 200;
        using var broker = new EventHubsTestBroker("posts", 2);
        var container = await Azurite.NewContainerAsync();
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "failing.db"));
        var inner = new SqlitePostStore(db, new Int8VectorIndex(384));
        var deadLetters = new SwitchableDeadLetters(new SqliteDeadLetterStore(db));
        var poison = NewPost(7).Id;
        var store = new FailingStore(inner, poison, failures: 2);

        await using (var publisher = new EventHubsFeedPublisher(new EventHubBufferedProducerClient(broker.ConnectionString, "posts"), deadLetters, new TestMeterFactory(), TimeProvider.System, NullLogger<EventHubsFeedPublisher>.Instance))
        {
            for (var i = 0; i < posts; i++)
            {
                await publisher.PublishAsync(FeedEvent.Upsert(NewPost(i)), CancellationToken.None);
            }
        }

        var metrics = new PipelineMetrics(new TestMeterFactory());
        var consumer = new EventHubsFeedConsumer(
            new BlobCheckpointStore(container), 16, "$Default", broker.ConnectionString, "posts", FastProcessor("processor"), deadLetters, TimeProvider.System,
            NullLogger<EventHubsFeedConsumer>.Instance);
        var processor = Processing(store, db, deadLetters, metrics);
        var worker = new ProcessWorker(consumer, processor, deadLetters, metrics, TimeProvider.System, NullLogger<ProcessWorker>.Instance) { Retry = ResiliencePipeline.Empty };

        await worker.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(async () => await inner.CountAsync(CancellationToken.None) == posts, TimeSpan.FromSeconds(60), $"all {posts} posts stored");
        await worker.StopAsync(CancellationToken.None);

        output.WriteLine($"poison batch failed {store.Failed} times (store and dead-letter store both down), stored {await inner.CountAsync(CancellationToken.None)}");
        Assert.True(store.Failed >= 3, "the failed batch was handed over again until it was stored");
        Assert.NotNull(await inner.GetAsync(poison, CancellationToken.None));
        Assert.Empty(await deadLetters.ListAsync(10, CancellationToken.None));
    }

    [SkippableFact]
    public async Task RolesStartedWhileTheHubIsDown_ReportIt_AndEverythingFlowsWhenItComesUp()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        const int posts = 60;
        var port = EventHubsTestBroker.FreePort();
        var connection = EventHubsTestBroker.ConnectionStringFor(port);
        var container = await Azurite.NewContainerAsync();
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "late-hub.db"));
        var store = new SqlitePostStore(db, new Int8VectorIndex(384));
        var deadLetters = new SqliteDeadLetterStore(db);
        var health = new FeedHealthRegistry(TimeProvider.System);

        // Ingest role: a feed publishing into a hub that is not there yet. It must wait, not end.
        var producer = new EventHubBufferedProducerClient(connection, "posts", new EventHubBufferedProducerClientOptions
        {
            RetryOptions = new EventHubsRetryOptions { MaximumRetries = 0, TryTimeout = TimeSpan.FromSeconds(2) },
        });
        var publisher = new EventHubsFeedPublisher(producer, deadLetters, new TestMeterFactory(), TimeProvider.System, NullLogger<EventHubsFeedPublisher>.Instance)
        {
            Health = health.For("eventhubs-publish"),
            RetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromSeconds(1),
        };
        var feed = Task.Run(async () =>
        {
            for (var i = 0; i < posts; i++)
            {
                await publisher.PublishAsync(FeedEvent.Upsert(NewPost(i)), CancellationToken.None);
            }
        });

        // Process role: a processor that cannot reach the hub either. The worker must survive and retry.
        var metrics = new PipelineMetrics(new TestMeterFactory());
        var consumer = new EventHubsFeedConsumer(
            new BlobCheckpointStore(container), 16, "$Default", connection, "posts", FastProcessor("late"), deadLetters, TimeProvider.System,
            NullLogger<EventHubsFeedConsumer>.Instance) { Health = health.For("eventhubs-process") };
        var processor = Processing(store, db, deadLetters, metrics);
        var worker = new ProcessWorker(consumer, processor, deadLetters, metrics, TimeProvider.System, NullLogger<ProcessWorker>.Instance)
        {
            Health = health.For("eventhubs-process"),
            RestartDelay = TimeSpan.FromMilliseconds(200),
            MaxRestartDelay = TimeSpan.FromSeconds(1),
        };
        await worker.StartAsync(CancellationToken.None);

        await Eventually.UntilAsync(() => Task.FromResult(health.For("eventhubs-publish").LastError is not null), TimeSpan.FromSeconds(30), "the publisher reports the hub unreachable");
        await Eventually.UntilAsync(() => Task.FromResult(health.For("eventhubs-process").LastError is not null), TimeSpan.FromSeconds(30), "the processor reports the hub unreachable");
        Assert.False(feed.IsCompleted, "the feed waits for the hub instead of ending");
        var downState = health.Snapshot();

        using var broker = new EventHubsTestBroker("posts", 2, port);
        await feed.WaitAsync(TimeSpan.FromSeconds(60));
        await publisher.DisposeAsync(); // flush
        await Eventually.UntilAsync(async () => await store.CountAsync(CancellationToken.None) == posts, TimeSpan.FromSeconds(60), $"all {posts} posts stored after the hub came up");
        await worker.StopAsync(CancellationToken.None);

        foreach (var s in downState)
        {
            output.WriteLine($"while down: {s.Name} connected={s.Connected} error={s.LastError}");
        }

        Assert.All(downState, s => Assert.False(s.Connected));
        Assert.True(health.For("eventhubs-publish").Connected);
        Assert.True(health.For("eventhubs-process").Connected);
        Assert.Equal(posts, await store.CountAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task RestartedProcessorWithTheSameIdentifier_TakesItsPartitionsBackAtOnce_NotAfterExpiry()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        const int posts = 40;
        var expiry = TimeSpan.FromSeconds(60);
        using var broker = new EventHubsTestBroker("posts", 2);
        var container = await Azurite.NewContainerAsync();
        var checkpoints = new BlobCheckpointStore(container);
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "restart.db"));
        var store = new SqlitePostStore(db, new Int8VectorIndex(384));
        var deadLetters = new SqliteDeadLetterStore(db);
        var identifier = EventHubsOptions.DefaultProcessorIdentifier("worker-7", "Process");

        ProcessWorker NewWorker()
        {
            var options = FastProcessor(identifier);
            options.PartitionOwnershipExpirationInterval = expiry;
            var metrics = new PipelineMetrics(new TestMeterFactory());
            var consumer = new EventHubsFeedConsumer(checkpoints, 16, "$Default", broker.ConnectionString, "posts", options, deadLetters, TimeProvider.System, NullLogger<EventHubsFeedConsumer>.Instance);
            var processor = Processing(store, db, deadLetters, metrics);
            return new ProcessWorker(consumer, processor, deadLetters, metrics, TimeProvider.System, NullLogger<ProcessWorker>.Instance);
        }

        // The first life of the instance claims both partitions, then "dies": its ownership records stay fresh
        // under its name (a clean stop would have released them; kill -9 does not).
        var first = NewWorker();
        await first.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(async () => (await AllOwnershipAsync(container)).Count(o => o.OwnerIdentifier == identifier) == 2, TimeSpan.FromSeconds(30), "both partitions claimed");
        var held = (await AllOwnershipAsync(container)).ToList();
        await first.StopAsync(CancellationToken.None);
        var released = await AllOwnershipAsync(container);
        await checkpoints.ClaimOwnershipAsync(released.Select(o => new EventProcessorPartitionOwnership
        {
            FullyQualifiedNamespace = o.FullyQualifiedNamespace, EventHubName = o.EventHubName, ConsumerGroup = o.ConsumerGroup,
            PartitionId = o.PartitionId, OwnerIdentifier = identifier, Version = o.Version,
        }), CancellationToken.None);
        Assert.All(await AllOwnershipAsync(container), o => Assert.Equal(identifier, o.OwnerIdentifier));

        await using (var publisher = new EventHubsFeedPublisher(new EventHubBufferedProducerClient(broker.ConnectionString, "posts"), deadLetters, new TestMeterFactory(), TimeProvider.System, NullLogger<EventHubsFeedPublisher>.Instance))
        {
            for (var i = 0; i < posts; i++)
            {
                await publisher.PublishAsync(FeedEvent.Upsert(NewPost(i)), CancellationToken.None);
            }
        }

        // The restarted instance has the same (default) identifier: the records are its own, so it resumes at once.
        var started = DateTime.UtcNow;
        var second = NewWorker();
        await second.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(async () => await store.CountAsync(CancellationToken.None) == posts, expiry / 2, $"all {posts} posts stored well before the {expiry.TotalSeconds} s ownership expiry");
        var took = DateTime.UtcNow - started;
        await second.StopAsync(CancellationToken.None);

        output.WriteLine($"identifier {identifier}; held {held.Count} partitions; restarted instance stored {posts} posts in {took.TotalSeconds:F1} s (ownership expiry {expiry.TotalSeconds} s)");
        Assert.Equal("worker-7-process", identifier);
    }

    private static async Task<List<EventProcessorPartitionOwnership>> AllOwnershipAsync(global::Azure.Storage.Blobs.BlobContainerClient container)
    {
        var list = new List<EventProcessorPartitionOwnership>();
        var names = new HashSet<(string, string, string)>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            var parts = blob.Name.Split('/');
            if (parts.Length >= 4 && parts[3] == "ownership")
            {
                names.Add((parts[0], parts[1], parts[2]));
            }
        }

        var store = new BlobCheckpointStore(container);
        foreach (var (ns, hub, group) in names)
        {
            list.AddRange(await store.ListOwnershipAsync(ns, hub, group, CancellationToken.None));
        }

        return list;
    }

    [SkippableFact]
    public async Task PartitionStatus_ShowsOwnersCheckpointsAndLagPerPartition()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        using var broker = new EventHubsTestBroker("posts", 2);
        var container = await Azurite.NewContainerAsync();
        var checkpoints = new BlobCheckpointStore(container);
        using var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "partitions.db"));
        var store = new SqlitePostStore(db, new Int8VectorIndex(384));
        var deadLetters = new SqliteDeadLetterStore(db);
        await using var hub = new global::Azure.Messaging.EventHubs.Consumer.EventHubConsumerClient("$Default", broker.ConnectionString, "posts");
        var reader = new PartitionStatusReader(hub, checkpoints);

        await using (var publisher = new EventHubsFeedPublisher(new EventHubBufferedProducerClient(broker.ConnectionString, "posts"), deadLetters, new TestMeterFactory(), TimeProvider.System, NullLogger<EventHubsFeedPublisher>.Instance))
        {
            for (var i = 0; i < 30; i++)
            {
                await publisher.PublishAsync(FeedEvent.Upsert(NewPost(i)), CancellationToken.None);
            }
        }

        var before = await reader.ReadAsync(CancellationToken.None);
        var metrics = new PipelineMetrics(new TestMeterFactory());
        var consumer = new EventHubsFeedConsumer(checkpoints, 16, "$Default", broker.ConnectionString, "posts", FastProcessor("reader-test"), deadLetters, TimeProvider.System, NullLogger<EventHubsFeedConsumer>.Instance);
        var processor = Processing(store, db, deadLetters, metrics);
        var worker = new ProcessWorker(consumer, processor, deadLetters, metrics, TimeProvider.System, NullLogger<ProcessWorker>.Instance);
        await worker.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(async () => (await reader.ReadAsync(CancellationToken.None)).All(p => p.Lag == 0 && p.Owner == "reader-test"), TimeSpan.FromSeconds(30), "every partition owned and caught up");
        var after = await reader.ReadAsync(CancellationToken.None);
        await worker.StopAsync(CancellationToken.None);

        Assert.Equal(30, before.Sum(p => p.Lag));                     // nothing checkpointed yet: everything is lag
        Assert.All(before, p => Assert.Null(p.CheckpointSequenceNumber));
        Assert.All(after, p => Assert.Equal(p.LastEnqueuedSequenceNumber, p.CheckpointSequenceNumber));
        Assert.Equal(broker.Counts.Select(c => (long)c - 1), after.Select(p => p.LastEnqueuedSequenceNumber));
    }
}
