using Azure.Messaging.EventHubs.Primitives;
using Azure.Messaging.EventHubs.Producer;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Enrich;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.TestBroker;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Azure.Tests.EventHubs;

/// <summary>
/// The distributed pipeline end to end on real components: feed events → EventHubsFeedPublisher (the SDK's
/// buffered producer) → the AMQP test broker → two processors (the SDK's PluggableCheckpointStoreEventProcessor
/// with our Blob checkpoint store on Azurite) → enrich → MiniLM → SQLite. One processor is stopped mid-stream;
/// the other takes its partitions over from the last checkpoint.
/// </summary>
public sealed class DistributedPipelineTests(ITestOutputHelper output)
{
    /// <summary>
    /// The shared store as each processor sees it: counts writes per post id, and for the processor that is
    /// to "crash" writes one batch and then hangs before returning, so that batch is stored but never checkpointed.
    /// </summary>
    private sealed class WatchedStore(StreamIngest.Store.IPostStore inner, System.Collections.Concurrent.ConcurrentDictionary<string, int> writes, int hangAfterBatches = int.MaxValue) : StreamIngest.Store.IPostStore
    {
        private int _batches;

        public List<string> WrittenThenHung { get; } = [];

        public async Task UpsertAsync(IReadOnlyList<Post> posts, CancellationToken cancellationToken)
        {
            await inner.UpsertAsync(posts, cancellationToken);
            foreach (var p in posts)
            {
                writes.AddOrUpdate(p.Id, 1, (_, n) => n + 1);
            }

            if (Interlocked.Increment(ref _batches) > hangAfterBatches)
            {
                WrittenThenHung.AddRange(posts.Select(p => p.Id));
                await Task.Delay(Timeout.Infinite, cancellationToken); // the process "dies" here: no checkpoint
            }
        }

        public Task<int> DeleteAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) => inner.DeleteAsync(ids, cancellationToken);

        public Task<int> AddEngagementAsync(IReadOnlyDictionary<string, Engagement> deltas, CancellationToken cancellationToken) => inner.AddEngagementAsync(deltas, cancellationToken);

        public Task<Post?> GetAsync(string id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<IReadOnlyDictionary<string, (string Id, float[] Embedding)>> FindByContentHashAsync(IReadOnlyCollection<string> contentHashes, CancellationToken cancellationToken) =>
            inner.FindByContentHashAsync(contentHashes, cancellationToken);

        public Task<long> CountAsync(CancellationToken cancellationToken) => inner.CountAsync(cancellationToken);

        public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => inner.PurgeAsync(cutoff, cancellationToken);
    }

    /// <summary>Post number i of the distributed tests' stream (also used by <see cref="DistributedRecoveryTests"/>).</summary>
    internal static Post NewPost(int i) => new()
    {
        Id = Post.MakeId("dist", i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Source = "dist",
        NativeId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        CreatedAt = DateTimeOffset.UtcNow.AddSeconds(-i),
        ReceivedAt = DateTimeOffset.UtcNow,
        Author = new Author($"author{i % 7}"),
        Text = $"Post number {i} about the river flood and the bridge closure on street {i % 13}",
        Provenance = new Provenance("test", "distributed", DateTimeOffset.UtcNow, "00"),
    };

    [SkippableFact]
    public async Task FeedToTwoProcessors_OneStoppedMidStream_EveryPostStoredExactlyOnce()
    {
        Skip.IfNot(Azurite.Available.Value, Azurite.NotRunning);
        const int posts = 400;
        using var broker = new EventHubsTestBroker("posts", 4);
        var container = await Azurite.NewContainerAsync();
        var db = new SqliteDatabase(Path.Combine(TestPaths.NewTempDir(), "distributed.db"));
        var index = new Int8VectorIndex(384);
        var store = new SqlitePostStore(db, index);
        var deadLetters = new SqliteDeadLetterStore(db);
        using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions());

        // Ingest role: publish every post through the buffered producer, partitioned by author.
        var producer = new EventHubBufferedProducerClient(broker.ConnectionString, "posts");
        await using (var publisher = new EventHubsFeedPublisher(producer, deadLetters, new TestMeterFactory(), TimeProvider.System, NullLogger<EventHubsFeedPublisher>.Instance))
        {
            for (var i = 0; i < posts; i++)
            {
                await publisher.PublishAsync(FeedEvent.Upsert(NewPost(i)), CancellationToken.None);
            }
        } // disposing flushes

        Assert.Equal(posts, broker.Counts.Sum());
        Assert.True(broker.Counts.Count(c => c > 0) >= 3, $"partition keys should spread the posts: {string.Join(',', broker.Counts)}");

        var writes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var storeA = new WatchedStore(store, writes, hangAfterBatches: 4);
        var storeB = new WatchedStore(store, writes);

        (ProcessWorker Worker, PipelineMetrics Metrics) NewProcessor(string name, StreamIngest.Store.IPostStore processorStore)
        {
            var metrics = new PipelineMetrics(new TestMeterFactory());
            var processorOptions = new EventProcessorOptions
            {
                Identifier = name,
                LoadBalancingUpdateInterval = TimeSpan.FromMilliseconds(500),
                PartitionOwnershipExpirationInterval = TimeSpan.FromSeconds(3),
            };
            var consumer = new EventHubsFeedConsumer(
                new BlobCheckpointStore(container), 16, "$Default", broker.ConnectionString, "posts", processorOptions, deadLetters, TimeProvider.System,
                NullLogger<EventHubsFeedConsumer>.Instance);
            var processor = new PostProcessor([new StandardEnricher()], embedder, processorStore, new SqliteCursorStore(db, TimeProvider.System), deadLetters, metrics, TimeProvider.System, NullLogger<PostProcessor>.Instance);
            return (new ProcessWorker(consumer, processor, deadLetters, metrics, TimeProvider.System, NullLogger<ProcessWorker>.Instance) { Retry = ResiliencePipeline.Empty }, metrics);
        }

        var (a, metricsA) = NewProcessor("processor-a", storeA);
        var (b, metricsB) = NewProcessor("processor-b", storeB);
        await a.StartAsync(CancellationToken.None);
        await b.StartAsync(CancellationToken.None);

        // A handles four batches, writes a fifth and "dies" before checkpointing it; then it is stopped.
        // B takes A's partitions over from their last checkpoints and redelivers that fifth batch.
        await Eventually.UntilAsync(() => storeA.WrittenThenHung.Count > 0, TimeSpan.FromSeconds(60), "processor A to write a batch and hang before its checkpoint");

        var processedByAWhenStopped = metricsA.Processed;
        await a.StopAsync(CancellationToken.None);

        await Eventually.UntilAsync(async () => await store.CountAsync(CancellationToken.None) >= posts, TimeSpan.FromSeconds(60), $"all {posts} posts stored after B took over");

        await b.StopAsync(CancellationToken.None);
        var stored = await store.CountAsync(CancellationToken.None);
        var delivered = metricsA.Processed + metricsB.Processed;
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            blobs.Add(blob.Name);
        }

        var writtenTwice = writes.Where(w => w.Value > 1).Select(w => w.Key).Order().ToList();
        output.WriteLine($"stored {stored} of {posts}; processor A handled {metricsA.Processed} and wrote {storeA.WrittenThenHung.Count} more without checkpointing; B handled {metricsB.Processed}; written twice {writtenTwice.Count}; dead letters {(await deadLetters.ListAsync(10, CancellationToken.None)).Count}");

        Assert.Equal(posts, stored);                                  // nothing lost, nothing duplicated (upsert by id)
        Assert.True(processedByAWhenStopped > 0, "processor A took part before it was stopped");
        Assert.True(metricsB.Processed > 0, "processor B took part");
        Assert.True(delivered >= posts - storeA.WrittenThenHung.Count, "at-least-once: every event was handled");
        Assert.Equal(posts, writes.Count);                                       // every post written
        Assert.NotEmpty(storeA.WrittenThenHung);
        // The unprocessed tail is redelivered and written again. A batch in flight when the two processors first split the
        // partitions can be redelivered too (at-least-once while ownership settles), so the tail is a subset of what was written twice.
        Assert.Subset(writtenTwice.ToHashSet(StringComparer.Ordinal), storeA.WrittenThenHung.ToHashSet(StringComparer.Ordinal));
        Assert.DoesNotContain(writes, w => w.Value > 2);
        Assert.Equal(posts, index.Count);
        Assert.Empty(await deadLetters.ListAsync(10, CancellationToken.None));
        Assert.Equal(4, blobs.Count(n => n.Contains("/ownership/", StringComparison.Ordinal)));  // every partition was claimed
        Assert.Equal(broker.Counts.Count(c => c > 0), blobs.Count(n => n.Contains("/checkpoint/", StringComparison.Ordinal)));
        db.Dispose();
    }
}
