using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Polly;
using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Enrich;
using StreamIngest.Model;
using StreamIngest.Pipeline;
using StreamIngest.Tests;
using StreamIngest.Transport;
using StreamIngest.Watches;

namespace StreamIngest.Core.Tests.Pipeline;

public class PostProcessorTests
{
    private readonly DictionaryStore _store = new();
    private readonly ListDeadLetters _dead = new();
    private readonly CountingEmbedder _embedder = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly PipelineMetrics _metrics = new(new TestMeterFactory());

    private PostProcessor Processor() =>
        new([new StandardEnricher(maxTextChars: 200)], _embedder, _store, _store, new MeteredDeadLetterStore(_dead, _metrics), _metrics, _time, NullLogger<PostProcessor>.Instance);

    private Post NewPost(string id, string text)
    {
        var p = StandardEnricherTests.NewPost(text, id);
        p.ReceivedAt = _time.GetUtcNow();
        return p;
    }

    [Fact]
    public async Task HandleAsync_SameBatchTwice_StoresEachPostOnceAndAdvancesCursor()
    {
        FeedEvent[] batch = [FeedEvent.Upsert(NewPost("1", "river rising"), "c1"), FeedEvent.Upsert(NewPost("2", "bridge closed"), "c2")];

        await Processor().HandleAsync(batch, CancellationToken.None);
        await Processor().HandleAsync(batch, CancellationToken.None);

        Assert.Equal(["test:1", "test:2"], _store.Posts.Keys.Order());
        Assert.Equal("c2", _store.Cursors["test"]);
        Assert.All(_store.Posts.Values, p => Assert.Equal(8, p.Embedding!.Length));
    }

    [Fact]
    public async Task HandleAsync_EventsNamingTheirCursorKey_AdvanceOneCursorPerStream()
    {
        FeedEvent[] batch =
        [
            FeedEvent.Upsert(NewPost("1", "river rising"), "10") with { CursorKey = "test:stream-a" },
            FeedEvent.Upsert(NewPost("2", "bridge closed"), "7") with { CursorKey = "test:stream-b" },
            FeedEvent.Upsert(NewPost("3", "roads reopened"), "11") with { CursorKey = "test:stream-a" },
        ];

        await Processor().HandleAsync(batch, CancellationToken.None);

        Assert.Equal(("11", "7"), (_store.Cursors["test:stream-a"], _store.Cursors["test:stream-b"]));
        Assert.False(_store.Cursors.ContainsKey("test"));
    }

    [Fact]
    public async Task HandleAsync_EmbedderGaveUp_StoresThePostsWithoutAVector_AndAdvances()
    {
        _embedder.FailWith = new HttpRequestException("embeddings endpoint refused the connection");

        await Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", "river rising"), "c1"), FeedEvent.Upsert(NewPost("2", "bridge closed"), "c2")], CancellationToken.None);

        Assert.Equal(["test:1", "test:2"], _store.Posts.Keys.Order());
        Assert.All(_store.Posts.Values, p => Assert.Null(p.Embedding));
        Assert.Equal(2, _metrics.EmbedFailed);
        Assert.Equal("c2", _store.Cursors["test"]);
        Assert.Empty(_dead.Items);
    }

    [Fact]
    public async Task HandleAsync_PostsDeliveredAgain_KeepTheirStoredVectors_OnlyNewOrEditedOnesAreEmbedded()
    {
        await Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", "river rising")), FeedEvent.Upsert(NewPost("2", "bridge closed"))], CancellationToken.None);
        var stored = _store.Posts["test:1"].Embedding;
        _embedder.Embedded.Clear();

        // A restart or a redelivery hands the same posts over again, with one edit and one new post.
        await Processor().HandleAsync(
            [FeedEvent.Upsert(NewPost("1", "river rising")), FeedEvent.Upsert(NewPost("2", "bridge reopened")), FeedEvent.Upsert(NewPost("3", "roads dry"))],
            CancellationToken.None);

        Assert.Equal(["bridge reopened", "roads dry"], _embedder.Embedded);
        Assert.Same(stored, _store.Posts["test:1"].Embedding);
        Assert.Null(_store.Posts["test:1"].DuplicateOf);
        Assert.Equal(1, _metrics.VectorsReused);
        Assert.Equal(0, _metrics.Duplicates);
    }

    [Fact]
    public async Task HandleAsync_ExactDuplicates_ShareOneEmbeddingAndPointAtTheOriginal()
    {
        await Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", "Main St bridge closed https://a.example/1"))], CancellationToken.None);
        _embedder.Embedded.Clear();

        await Processor().HandleAsync(
            [FeedEvent.Upsert(NewPost("2", "RT @city: main st bridge CLOSED https://b.example/2")), FeedEvent.Upsert(NewPost("3", "new text")), FeedEvent.Upsert(NewPost("4", "new   TEXT"))],
            CancellationToken.None);

        Assert.Equal(["new text"], _embedder.Embedded);
        Assert.Equal("test:1", _store.Posts["test:2"].DuplicateOf);
        Assert.Equal("test:3", _store.Posts["test:4"].DuplicateOf);
        Assert.Same(_store.Posts["test:3"].Embedding, _store.Posts["test:4"].Embedding);
        Assert.Equal(2, _metrics.Duplicates);
    }

    [Fact]
    public async Task HandleAsync_BadPost_IsDeadLetteredAndTheRestOfTheBatchStored()
    {
        await Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", new string('a', 500))), FeedEvent.Upsert(NewPost("2", "fine"))], CancellationToken.None);

        Assert.Equal(["test:2"], _store.Posts.Keys);
        var dead = Assert.Single(_dead.Items);
        Assert.Equal("text is 500 chars, over the limit of 200", dead.Reason);
        Assert.Equal("test:1", dead.Location);
        Assert.Equal(1, _metrics.Rejected);
    }

    [Fact]
    public async Task HandleAsync_LargeBatch_EnrichedOnEveryCore_KeepsEachPostsOwnOutcomeInOrder()
    {
        // Past ParallelEnrichFrom posts the batch is enriched concurrently: every post still gets its own clean text and
        // its own verdict (every fifth too long, dead-lettered by id), and the kept posts are stored as sent.
        var batch = Enumerable.Range(0, 40)
            .Select(i => FeedEvent.Upsert(NewPost($"{i}", i % 5 == 0 ? new string('x', 300 + i) : $"<p>post number {i}</p>"), $"c{i}"))
            .Append(FeedEvent.Delete("test:7"))
            .ToArray();
        Assert.True(batch.Length >= PostProcessor.ParallelEnrichFrom);

        await Processor().HandleAsync(batch, CancellationToken.None);

        var kept = Enumerable.Range(0, 40).Where(i => i % 5 != 0 && i != 7).ToArray();
        Assert.Equal(kept.Select(i => $"test:{i}").Order(), _store.Posts.Keys.Order());
        Assert.All(kept, i => Assert.Equal($"post number {i}", _store.Posts[$"test:{i}"].Text));
        Assert.Equal(
            Enumerable.Range(0, 40).Where(i => i % 5 == 0).Select(i => ($"test:{i}", $"text is {300 + i} chars, over the limit of 200")),
            _dead.Items.Select(d => (d.Location!, d.Reason)).OrderBy(d => int.Parse(d.Item1[5..], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("c39", _store.Cursors["test"]);
    }

    [Fact]
    public async Task HandleAsync_EngagementEvents_AddUpOnTheStoredPostAndNeverReplaceIt()
    {
        var post = NewPost("1", "river rising");
        post.Metrics = new Engagement(Likes: 2);

        await Processor().HandleAsync(
            [FeedEvent.Upsert(post), FeedEvent.Engage("test:1", new Engagement(Likes: 1)), FeedEvent.Engage("test:1", new Engagement(Reposts: 1)), FeedEvent.Engage("test:404", new Engagement(Likes: 1))],
            CancellationToken.None);

        Assert.Equal(new Engagement(Likes: 3, Reposts: 1), _store.Posts["test:1"].Metrics);
        Assert.Equal("river rising", _store.Posts["test:1"].Text);
        Assert.Equal(4, _metrics.Processed);
    }

    [Fact]
    public async Task HandleAsync_CreateThenDeleteInOneBatch_LeavesNothing()
    {
        await Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", "oops")), FeedEvent.Delete("test:1")], CancellationToken.None);

        Assert.Empty(_store.Posts);
    }

    [Fact]
    public async Task HandleAsync_StoreWriteFails_CursorDoesNotMove()
    {
        _store.FailWrite = _ => new IOException("disk full");

        await Assert.ThrowsAsync<IOException>(() => Processor().HandleAsync([FeedEvent.Upsert(NewPost("1", "x"), "c1")], CancellationToken.None));

        Assert.Empty(_store.Cursors);
    }

    [Fact]
    public async Task ProcessWorker_TransientStoreFailure_IsRetriedAndThePostStoredOnce()
    {
        _store.FailWrite = n => n == 1 ? new IOException("database is locked") : null;
        var transport = new ChannelFeedTransport(10, 10);
        var worker = new ProcessWorker(transport, Processor(), _dead, _metrics, _time, NullLogger<ProcessWorker>.Instance)
        {
            Retry = new ResiliencePipelineBuilder().AddRetry(new() { Delay = TimeSpan.Zero, MaxRetryAttempts = 3 }).Build(),
        };
        await transport.PublishAsync(FeedEvent.Upsert(NewPost("1", "x")), CancellationToken.None);
        transport.Complete();

        await worker.StartAsync(CancellationToken.None);
        await worker.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, _store.Writes);
        Assert.Single(_store.Posts);
        Assert.Empty(_dead.Items);
    }

    [Fact]
    public async Task ProcessWorker_PermanentFailure_DeadLettersTheBatchAndKeepsConsuming()
    {
        _store.FailWrite = n => n == 1 ? new InvalidOperationException("schema mismatch") : null;
        var transport = new ChannelFeedTransport(10, 1);
        var worker = new ProcessWorker(transport, Processor(), _dead, _metrics, _time, NullLogger<ProcessWorker>.Instance)
        {
            Retry = ResiliencePipeline.Empty,
        };
        await transport.PublishAsync(FeedEvent.Upsert(NewPost("1", "first")), CancellationToken.None);
        await transport.PublishAsync(FeedEvent.Upsert(NewPost("2", "second")), CancellationToken.None);
        transport.Complete();

        await worker.StartAsync(CancellationToken.None);
        await worker.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["test:2"], _store.Posts.Keys);
        var dead = Assert.Single(_dead.Items);
        Assert.Equal("processing failed after retries: InvalidOperationException: schema mismatch", dead.Reason);
        Assert.Equal("first", dead.Raw);
    }

    [Fact]
    public async Task ProcessWorker_WatchStoreFails_PostsDeletesAndLikesAreKept_LikesCountedOnce_AndOnlyTheMatchesDeadLettered()
    {
        var stored = NewPost("old", "river rising");
        stored.Metrics = new Engagement(Likes: 2);
        await Processor().HandleAsync([FeedEvent.Upsert(stored), FeedEvent.Upsert(NewPost("gone", "typo"))], CancellationToken.None);
        var watchStore = new Core.Tests.Watches.MemoryWatchStore(new Watch { Id = "all", Query = "anything", Vector = [1, 1, 1, 1, 1, 1, 1, 1], MinScore = -1 })
        {
            FailAppend = new TimeoutException("429 Too Many Requests"),
        };
        var processor = new PostProcessor(
            [new StandardEnricher(maxTextChars: 200)], _embedder, _store, _store, new MeteredDeadLetterStore(_dead, _metrics), _metrics, _time,
            NullLogger<PostProcessor>.Instance, watches: new WatchMatcher(watchStore, _time))
        {
            WatchRetry = new ResiliencePipelineBuilder().AddRetry(new() { Delay = TimeSpan.Zero, MaxRetryAttempts = 2 }).Build(),
        };
        var transport = new ChannelFeedTransport(10, 10);
        var worker = new ProcessWorker(transport, processor, _dead, _metrics, _time, NullLogger<ProcessWorker>.Instance)
        {
            Retry = new ResiliencePipelineBuilder().AddRetry(new() { Delay = TimeSpan.Zero, MaxRetryAttempts = 3 }).Build(),
        };
        await transport.PublishAsync(FeedEvent.Upsert(NewPost("new", "bridge closed"), "c9"), CancellationToken.None);
        await transport.PublishAsync(FeedEvent.Delete("test:gone"), CancellationToken.None);
        await transport.PublishAsync(FeedEvent.Engage("test:old", new Engagement(Likes: 1)), CancellationToken.None);
        transport.Complete();

        await worker.StartAsync(CancellationToken.None);
        await worker.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["test:new", "test:old"], _store.Posts.Keys.Order());
        Assert.Equal(3, _store.Posts["test:old"].Metrics!.Likes); // once: the batch was not sent round again
        Assert.Equal(3, watchStore.Appends); // the first try and the watch pipeline's two retries
        Assert.Equal("c9", _store.Cursors["test"]);
        var dead = Assert.Single(_dead.Items);
        Assert.Equal("watches", dead.Source);
        Assert.Contains("the posts are stored", dead.Reason, StringComparison.Ordinal);
        Assert.Equal("test:new", dead.Raw);
    }

    private sealed class ThrottledException() : Exception("429 after the SDK's retries");

    [Fact]
    public async Task ProcessWorker_FailureRetriedBelow_IsNotRetriedAgainNorDeadLettered_TheTransportGetsItBack()
    {
        _store.FailWrite = _ => new ThrottledException();
        var handed = new TaskCompletionSource<Exception?>();
        var consumer = new OneBatchConsumer([FeedEvent.Upsert(NewPost("1", "x"), "c1")], handed);
        var worker = new ProcessWorker(consumer, Processor(), _dead, _metrics, _time, NullLogger<ProcessWorker>.Instance)
        {
            RetriedBelow = ex => ex is ThrottledException, // the default process-batch pipeline leaves these alone
        };

        await worker.StartAsync(CancellationToken.None);
        var thrown = await handed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await worker.StopAsync(CancellationToken.None);

        Assert.IsType<ThrottledException>(thrown); // back to the transport, which delivers the batch again
        Assert.Equal(1, _store.Writes); // once: not retried on top of the store's own retries
        Assert.Empty(_dead.Items);
        Assert.Empty(_store.Cursors);
    }

    /// <summary>A transport that hands over one batch and reports what the handler threw.</summary>
    private sealed class OneBatchConsumer(IReadOnlyList<FeedEvent> batch, TaskCompletionSource<Exception?> handed) : IFeedConsumer
    {
        public long? Backlog => null;

        public async Task ConsumeAsync(FeedBatchHandler handler, CancellationToken cancellationToken)
        {
            try
            {
                await handler(batch, cancellationToken);
                handed.TrySetResult(null);
            }
            catch (Exception ex)
            {
                handed.TrySetResult(ex);
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
