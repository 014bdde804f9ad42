using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly.Registry;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds.Jetstream;

/// <summary>
/// Bluesky Jetstream over WebSocket. Resumes from the durable cursor (time_us of the last stored event,
/// rewound a few seconds), fails over between endpoints, reconnects with backoff, and reads the socket
/// into a read-ahead buffer so a slow pipeline never stalls it (which is what makes Jetstream drop a
/// consumer as too slow). Gaps (reconnects without a cursor, a cursor too old) are recorded.
/// </summary>
public sealed partial class JetstreamFeedSource(
    JetstreamOptions options,
    ICursorStore cursors,
    IDeadLetterStore deadLetters,
    FeedHealth health,
    TimeProvider timeProvider,
    ILogger<JetstreamFeedSource> logger,
    ResiliencePipelineProvider<string>? pipelines = null) : IFeedSource
{
    public const string CursorKey = JetstreamParser.Source;

    /// <summary>The backoff of the connection loop: back to 1 s after any connection that delivered a frame.</summary>
    public static FeedBackoff NewBackoff(FeedHealth? health = null) => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), health);

    private readonly JetstreamCursor _cursor = new();
    private long _framesThisConnection;
    private FeedBackoff? _backoff;

    public string Name => "jetstream";

    /// <summary>Completes when a connection was first established (false if the first round over every endpoint failed).</summary>
    public TaskCompletionSource<bool> FirstConnection { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async IAsyncEnumerable<FeedEvent> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var frames = Channel.CreateBounded<RawFrame>(new BoundedChannelOptions(options.ReadAheadFrames)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = Task.Run(() => ReadSocketsAsync(frames.Writer, stop.Token), stop.Token);
        var pump = new FeedPump(Name, new WireLineParser(WireFormat.Jetstream, options.IncludeEngagement), deadLetters, health, timeProvider);
        try
        {
            await foreach (var frame in frames.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var outcome = await pump.HandleAsync(frame, cancellationToken).ConfigureAwait(false);
                if (outcome.Notice is not null)
                {
                    LogNotice(outcome.Notice);
                }

                foreach (var e in outcome.Events)
                {
                    yield return e;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await reader.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // shutting down
            }
        }
    }

    /// <summary>The URL for a connection attempt: wanted collections and DIDs, and the (already rewound) cursor when there is one.</summary>
    public Uri BuildUri(string endpoint, long? cursorTimeUs)
    {
        var query = new StringBuilder("wantedCollections=").Append(JetstreamParser.PostCollection);
        if (options.IncludeEngagement)
        {
            query.Append("&wantedCollections=app.bsky.feed.like&wantedCollections=app.bsky.feed.repost");
        }

        foreach (var did in options.WantedDids)
        {
            query.Append("&wantedDids=").Append(Uri.EscapeDataString(did));
        }

        if (cursorTimeUs is { } c)
        {
            query.Append("&cursor=").Append(c.ToString(CultureInfo.InvariantCulture));
        }

        return new UriBuilder(endpoint) { Query = query.ToString() }.Uri;
    }

    private async Task ReadSocketsAsync(ChannelWriter<RawFrame> writer, CancellationToken ct)
    {
        var endpoints = options.EffectiveEndpoints;
        var attempt = 0;
        var stored = await cursors.GetAsync(CursorKey, ct).ConfigureAwait(false);
        _cursor.Load(stored);
        DateTimeOffset? disconnectedAt = null;
        var failures = 0;
        _backoff = NewBackoff(health);
        // "jetstream-reconnect": forever, waits from this loop's backoff (1 s doubling to 60 s with jitter).
        var pipeline = FeedResilience.Resolve(pipelines, FeedResilience.JetstreamReconnect, timeProvider);
        try
        {
            await pipeline.ExecuteAsync(_backoff, async token =>
            {
                var endpoint = endpoints[attempt++ % endpoints.Count];
                try
                {
                    await ReadOneConnectionAsync(endpoint, writer, () =>
                    {
                        if (disconnectedAt is { } since && _cursor.Last is null)
                        {
                            // Nothing to resume from: whatever was posted while disconnected is lost.
                            health.RecordGap(new FeedGap(since, timeProvider.GetUtcNow(), false, "reconnected without a cursor"));
                        }

                        disconnectedAt = null;
                        attempt = 0;
                        failures = 0;
                    }, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    health.OnDisconnected(ex.Message);
                    if (++failures == 1)
                    {
                        LogDisconnected(endpoint, ex.Message);
                    }
                    else
                    {
                        LogStillDisconnected(endpoint, failures, ex.Message);
                    }

                    if (ex is not CursorTooOldException)
                    {
                        disconnectedAt ??= timeProvider.GetUtcNow(); // a too-old cursor's gap is already recorded
                    }

                    if (attempt >= endpoints.Count)
                    {
                        FirstConnection.TrySetResult(false);
                    }

                    throw;
                }
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private async Task ReadOneConnectionAsync(string endpoint, ChannelWriter<RawFrame> writer, Action onConnected, CancellationToken ct)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        var lastBefore = _cursor.Last;
        var resume = _cursor.NextResume(options.RewindSeconds);
        var uri = BuildUri(endpoint, resume);
        using (var connectTimeout = new FeedDeadline(TimeSpan.FromSeconds(options.ConnectTimeoutSeconds), timeProvider, ct))
        {
            try
            {
                await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (WebSocketException ex) when (ex.Message.Contains("400", StringComparison.Ordinal) && lastBefore is { } last)
            {
                // v2 rejects a cursor older than its lookback (CursorTooOld): resume live and record the gap.
                var from = DateTimeOffset.FromUnixTimeMilliseconds(last / 1000);
                health.RecordGap(new FeedGap(from, timeProvider.GetUtcNow(), false, "cursor too old; resumed live"));
                LogCursorTooOld(endpoint);
                _cursor.Forget();
                throw new CursorTooOldException(ex);
            }
        }

        _cursor.Connected(resume);
        _framesThisConnection = 0;
        health.OnConnected(endpoint, resume?.ToString(CultureInfo.InvariantCulture));
        FirstConnection.TrySetResult(true);
        onConnected();
        LogConnected(endpoint, uri.Query);

        using var frames = new WebSocketFrameReader(socket, endpoint, options.MaxFrameBytes, TimeSpan.FromSeconds(options.IdleTimeoutSeconds), timeProvider);
        while (!ct.IsCancellationRequested)
        {
            var frame = await frames.ReadAsync(ct).ConfigureAwait(false);
            if (_framesThisConnection++ == 0)
            {
                _backoff?.Reset(); // this connection delivers: the next failure waits 1 s, not where the backoff had got to
            }

            if (frame.Refused is null && !_cursor.Track(frame.Bytes.Span))
            {
                health.OnReReceived();
            }

            // The bytes go to the pump as they arrived (it parses them once, or dead-letters them with the reason).
            await writer.WriteAsync(frame, ct).ConfigureAwait(false);
        }
    }

    private sealed class CursorTooOldException(Exception inner) : Exception("Jetstream rejected the cursor as too old", inner);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Jetstream connected to {Endpoint} ({Query})")]
    private partial void LogConnected(string endpoint, string query);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Jetstream {Endpoint} disconnected: {Error}")]
    private partial void LogDisconnected(string endpoint, string error);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug, Message = "Jetstream {Endpoint} still unreachable (attempt {Attempt}): {Error}")]
    private partial void LogStillDisconnected(string endpoint, int attempt, string error);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Jetstream {Endpoint} rejected the cursor as too old; resuming live, gap recorded")]
    private partial void LogCursorTooOld(string endpoint);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Jetstream notice: {Notice}")]
    private partial void LogNotice(string notice);
}
