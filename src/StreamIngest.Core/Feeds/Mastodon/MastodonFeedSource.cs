using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly.Registry;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds.Mastodon;

/// <summary>
/// Mastodon streaming (server-sent events) for several instances and streams at once. Heartbeats
/// (<c>:thump</c>) are watched; <c>update</c>, <c>status.update</c> and <c>delete</c> are handled. Mastodon
/// has no resume cursor, so after a reconnect the gap is closed from the REST timeline with
/// <c>min_id</c> = the last status seen, and recorded with whether that succeeded. Trends are polled by
/// <see cref="MastodonTrendsPoller"/>, one loop per instance.
/// </summary>
public sealed partial class MastodonFeedSource(
    MastodonOptions options,
    HttpClient http,
    IDeadLetterStore deadLetters,
    FeedHealthRegistry healthRegistry,
    TrendRegistry trends,
    TimeProvider timeProvider,
    ILogger<MastodonFeedSource> logger,
    HttpClient? rest = null,
    ResiliencePipelineProvider<string>? pipelines = null) : IFeedSource
{
    /// <summary>Backfill and trends go over the REST client (with a timeout); the stream over <c>http</c> (stalls detected by heartbeat).</summary>
    private readonly HttpClient _rest = rest ?? http;

    public string Name => "mastodon";

    /// <summary>
    /// One stream's backoff: 1 s doubling to 60 s across consecutive failures, back to 1 s after a connection that
    /// delivered events; a 429's Retry-After is waited instead.
    /// </summary>
    public static FeedBackoff NewBackoff(FeedHealth? health = null) =>
        new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), health, serverDelay: static ex => ex is RetryAfterException r ? r.RetryAfter : null);

    public IAsyncEnumerable<FeedEvent> ReadAsync(CancellationToken cancellationToken)
    {
        var loops = new List<FeedLoop>();
        foreach (var instance in options.Instances)
        {
            foreach (var spec in instance.Streams)
            {
                var stream = MastodonStream.TryParse(spec)!;
                loops.Add((writer, ct) => StreamLoopAsync(instance, stream, writer, ct));
            }

            if (instance.TrendsIntervalSeconds > 0)
            {
                var poller = new MastodonTrendsPoller(instance, _rest, trends, Name, timeProvider, logger);
                loops.Add(poller.RunAsync);
            }
        }

        return FeedMerge.ReadAllAsync(4096, loops, cancellationToken);
    }

    private async Task StreamLoopAsync(MastodonInstanceOptions instance, MastodonStream stream, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var host = new Uri(instance.BaseUrl).Host;
        var health = healthRegistry.For($"mastodon:{host}:{stream.Name}");
        var state = new StreamState { Backoff = NewBackoff(health) };
        try
        {
            await FeedResilience.Resolve(pipelines, FeedResilience.MastodonReconnect, timeProvider).ExecuteAsync(state.Backoff, async token =>
            {
                try
                {
                    await ReadStreamOnceAsync(instance, host, stream, state, health, writer, token).ConfigureAwait(false);
                    throw new IOException("stream ended");
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    state.DisconnectedAt ??= state.LastEventAt ?? timeProvider.GetUtcNow();
                    health.OnDisconnected(ex.Message);
                    LogDisconnected(host, stream.Name, ex.Message);
                    throw;
                }
            }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task ReadStreamOnceAsync(
        MastodonInstanceOptions instance, string host, MastodonStream stream, StreamState state, FeedHealth health, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var endpoint = instance.BaseUrl.TrimEnd('/') + stream.StreamPath;
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (!string.IsNullOrEmpty(instance.AccessToken))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", instance.AccessToken);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        ThrowIfFailed(response);
        health.OnConnected(endpoint);
        LogConnected(host, stream.Name);

        if (state.DisconnectedAt is { } since)
        {
            // No resume cursor in Mastodon streaming: close the gap from the REST timeline.
            var recovered = state.LastId is { } lastId
                && await new MastodonBackfill(_rest, Name, timeProvider, logger).RunAsync(instance, host, stream, lastId, state.See, writer, ct).ConfigureAwait(false);
            health.RecordGap(new FeedGap(since, timeProvider.GetUtcNow(), recovered, recovered ? "backfilled from REST timeline" : "no status seen before the disconnect, or backfill incomplete"));
            state.DisconnectedAt = null;
        }

        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new SseEventReader(body, MaxLineBytes);
        var pump = new FeedPump(Name, (bytes, context) => MastodonParser.ParseStatus(bytes, host, context), deadLetters, health, timeProvider);
        while (true)
        {
            using var heartbeat = new FeedDeadline(TimeSpan.FromSeconds(instance.HeartbeatTimeoutSeconds), timeProvider, ct);
            SseEvent? read;
            try
            {
                read = await reader.ReadAsync(heartbeat.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"no heartbeat for {instance.HeartbeatTimeoutSeconds} s");
            }

            if (read is not { } e)
            {
                return; // server closed the stream
            }

            if (!e.IsComment) // a comment (":thump") is a heartbeat: the deadline starts again
            {
                var frame = new RawFrame(e.Data, endpoint, e.TooLong ? $"event data exceeds {MaxLineBytes} bytes" : null) { Location = $"{endpoint} event {e.Name}" };
                await DispatchAsync(e.Name!, frame, pump, host, state, health, writer, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Largest SSE line (one status's JSON) held; a longer event is dead-lettered with its first bytes.</summary>
    public const int MaxLineBytes = 1 << 20;

    private async Task DispatchAsync(string eventName, RawFrame frame, FeedPump pump, string host, StreamState state, FeedHealth health, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        state.Backoff.Reset();
        state.LastEventAt = timeProvider.GetUtcNow();
        switch (eventName)
        {
            case "update" or "status.update":
                // Parsed once from the bytes, dead-lettered with the reason when it does not parse, stamped, counted.
                foreach (var e in (await pump.HandleAsync(frame, ct).ConfigureAwait(false)).Events)
                {
                    state.See(e.Post!.NativeId[(host.Length + 1)..]);
                    await writer.WriteAsync(e, ct).ConfigureAwait(false);
                }

                break;
            case "delete":
                health.OnEvent();
                var id = Encoding.UTF8.GetString(frame.Bytes.Span).Trim().Trim('"');
                if (id.Length > 0)
                {
                    await writer.WriteAsync(FeedEvent.Delete(MastodonParser.MakeId(host, id)), ct).ConfigureAwait(false);
                }

                break;
            default:
                health.OnEvent();
                break;
        }
    }

    /// <summary>One trends poll of <paramref name="instance"/> (the trends loop is <see cref="MastodonTrendsPoller"/>).</summary>
    internal Task PollTrendsAsync(MastodonInstanceOptions instance, ChannelWriter<FeedEvent> writer, CancellationToken ct) =>
        new MastodonTrendsPoller(instance, _rest, trends, Name, timeProvider, logger).PollAsync(writer, ct);

    private static void ThrowIfFailed(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        if ((int)response.StatusCode == 429)
        {
            throw new RetryAfterException(response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date - DateTimeOffset.UtcNow) ?? TimeSpan.FromMinutes(1));
        }

        throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
    }

    private sealed class StreamState
    {
        public required FeedBackoff Backoff { get; init; }

        public string? LastId { get; private set; }

        public DateTimeOffset? LastEventAt { get; set; }

        public DateTimeOffset? DisconnectedAt { get; set; }

        /// <summary>Keeps the highest status id seen (snowflake ids: longer is newer, then ordinal).</summary>
        public void See(string id)
        {
            if (SnowflakeIdComparer.IsNewer(id, LastId))
            {
                LastId = id;
            }
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Mastodon {Host} stream {Stream} connected")]
    private partial void LogConnected(string host, string stream);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Mastodon {Host} stream {Stream} disconnected: {Error}")]
    private partial void LogDisconnected(string host, string stream, string error);
}

/// <summary>The server asked us to wait (HTTP 429 with Retry-After or a rate-limit reset).</summary>
public sealed class RetryAfterException(TimeSpan retryAfter) : Exception($"rate limited; retry after {retryAfter}")
{
    public TimeSpan RetryAfter { get; } = retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter;
}
