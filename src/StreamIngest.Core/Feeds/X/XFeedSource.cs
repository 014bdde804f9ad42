using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly.Registry;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds.X;

/// <summary>
/// X API v2: the filtered stream (rules kept in step with configuration), recent search with since_id as
/// a complement, gap recovery after every disconnect (<see cref="XGapRecovery"/>) and trends by WOEID
/// (<see cref="XTrendsPoller"/>), each its own loop over one <see cref="XApiClient"/>. Reconnects follow
/// <see cref="XBackoff"/>; duplicates (redeliveries, backfill overlap) are dropped by id.
/// </summary>
public sealed partial class XFeedSource(
    XOptions options,
    HttpClient http,
    IDeadLetterStore deadLetters,
    FeedHealthRegistry healthRegistry,
    TrendRegistry trends,
    TimeProvider timeProvider,
    ILogger<XFeedSource> logger,
    HttpClient? rest = null,
    ResiliencePipelineProvider<string>? pipelines = null) : IFeedSource
{
    public const string Fields =
        "tweet.fields=author_id,created_at,lang,public_metrics,entities,referenced_tweets,context_annotations,conversation_id,in_reply_to_user_id,note_tweet,possibly_sensitive"
        + "&expansions=author_id,referenced_tweets.id,referenced_tweets.id.author_id,entities.mentions.username"
        + "&user.fields=username,name,public_metrics,verified";

    // The stream on the streaming client; rules, search, gap recovery and trends on the REST one (with a timeout).
    private readonly XApiClient _api = new(options, http, rest ?? http, timeProvider);
    // Each loop owns its backoff: a healthy recent-search poll must not reset the stream's, nor the other way round.
    private XBackoff? _streamBackoff;
    private XBackoff? _searchBackoff;
    private readonly XSeenIds _seen = new();
    private XGapRecovery? _gapRecovery;

    public string Name => "x";

    /// <summary>Every reconnect delay taken, in order (for health and tests).</summary>
    public List<TimeSpan> Delays { get; } = [];

    private XBackoff StreamBackoff => _streamBackoff ??= new XBackoff(RecordDelay);

    private XBackoff SearchBackoff => _searchBackoff ??= new XBackoff(RecordDelay);

    private void RecordDelay(TimeSpan delay)
    {
        lock (Delays)
        {
            Delays.Add(delay);
        }
    }

    public IAsyncEnumerable<FeedEvent> ReadAsync(CancellationToken cancellationToken)
    {
        var loops = new List<FeedLoop>();
        if (options.StreamEnabled)
        {
            loops.Add(StreamLoopAsync);
            _gapRecovery = new XGapRecovery(
                async (url, ct) =>
                {
                    using var response = await SendAsync(HttpMethod.Get, url, null, ct).ConfigureAwait(false);
                    return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                },
                WriteNewAsync,
                Uri.EscapeDataString(options.EffectiveQuery),
                options.BaseUrl + "/2/tweets/search/recent",
                new XReadBudget(options.GapRecoveryReadBudgetPerHour, timeProvider),
                healthRegistry.For("x:stream"),
                timeProvider,
                logger,
                new FeedPump(Name, new WireLineParser(WireFormat.XApiV2), deadLetters, health: null, timeProvider)); // a page is not a stream event
            loops.Add(_gapRecovery.RunAsync);
        }

        if (options.RecentSearchEnabled)
        {
            var search = new XRecentSearch(
                options, (path, ct) => SendAsync(HttpMethod.Get, path, null, ct), _seen, WriteNewAsync,
                new FeedPump(Name, new WireLineParser(WireFormat.XApiV2), deadLetters, healthRegistry.For("x:recent-search"), timeProvider),
                healthRegistry.For("x:recent-search"), FeedResilience.Resolve(pipelines, FeedResilience.XRecentSearch, timeProvider), SearchBackoff, timeProvider);
            loops.Add(search.RunAsync);
        }

        if (options.TrendsWoeid > 0)
        {
            var poller = new XTrendsPoller(options, _api, trends, timeProvider, logger);
            loops.Add((_, ct) => poller.RunAsync(ct));
        }

        return FeedMerge.ReadAllAsync(4096, loops, cancellationToken);
    }

    /// <summary>Makes the server's rules match configuration (<see cref="XRuleSync"/>).</summary>
    public Task SyncRulesAsync(CancellationToken ct) => new XRuleSync(options, _api, logger).SyncAsync(ct);

    private async Task StreamLoopAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var health = healthRegistry.For("x:stream");
        DateTimeOffset? disconnectedAt = null;
        string? gapSince = null;
        var rulesSynced = false;
        try
        {
            // "x-stream-reconnect": forever, waits by X's documented rules for the failure's kind (XBackoff).
            await FeedResilience.Resolve(pipelines, FeedResilience.XStreamReconnect, timeProvider).ExecuteAsync(StreamBackoff, async token =>
            {
                try
                {
                    if (!rulesSynced)
                    {
                        await SyncRulesAsync(token).ConfigureAwait(false);
                        rulesSynced = true;
                    }

                    var backfill = disconnectedAt is not null && options.BackfillMinutes > 0 ? $"&backfill_minutes={options.BackfillMinutes}" : string.Empty;
                    using var response = await SendAsync(HttpMethod.Get, $"/2/tweets/search/stream?{Fields}{backfill}", null, token, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                    StreamBackoff.Reset();
                    health.OnConnected(options.BaseUrl + "/2/tweets/search/stream");
                    LogConnected();
                    if (disconnectedAt is { } since)
                    {
                        // Read back what the stream missed, in the background: the stream resumes at once.
                        if (gapSince is not null && _gapRecovery is not null)
                        {
                            _gapRecovery.Enqueue(new XGap(gapSince, null, since, timeProvider.GetUtcNow()));
                        }
                        else
                        {
                            health.RecordGap(new FeedGap(since, timeProvider.GetUtcNow(), false, "no post seen before the disconnect: nothing to recover from"));
                        }

                        disconnectedAt = null;
                        gapSince = null;
                    }

                    await ReadStreamAsync(response, health, writer, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    if (disconnectedAt is null)
                    {
                        disconnectedAt = timeProvider.GetUtcNow();
                        gapSince = _seen.Newest; // the newest post before the gap: recovery reads everything after it
                    }

                    health.OnDisconnected(ex.Message);
                    LogDisconnected(XBackoff.Classify(ex), ex.Message);
                    throw;
                }
            }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task ReadStreamAsync(HttpResponseMessage response, FeedHealth health, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new ByteLineReader(body, options.MaxLineBytes);
        var endpoint = options.BaseUrl + "/2/tweets/search/stream";
        var pump = new FeedPump(Name, new WireLineParser(WireFormat.XApiV2), deadLetters, health, timeProvider);
        while (true)
        {
            using var stall = new FeedDeadline(TimeSpan.FromSeconds(options.StallTimeoutSeconds), timeProvider, ct);
            ByteLine? line;
            try
            {
                line = await reader.ReadLineAsync(stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new XApiException(XFailure.Network, $"stream stalled: nothing for {options.StallTimeoutSeconds} s");
            }

            if (line is not { } l)
            {
                throw new XApiException(XFailure.Network, "stream closed by the server");
            }

            if (l.Bytes.Length == 0 && !l.TooLong)
            {
                continue; // keep-alive
            }

            var outcome = await pump.HandleAsync(new RawFrame(l.Bytes, endpoint, l.TooLong ? $"line exceeds {options.MaxLineBytes} bytes" : null), ct).ConfigureAwait(false);
            if (outcome.Notice is not null)
            {
                LogNotice(outcome.Notice);
                if (outcome.Notice.Contains("disconnect", StringComparison.OrdinalIgnoreCase))
                {
                    throw new XApiException(XFailure.Network, outcome.Notice);
                }

                continue;
            }

            await WriteNewAsync(outcome.Events, writer, ct).ConfigureAwait(false);
        }
    }

    /// <summary>One poll of the trends (the trends loop is <see cref="XTrendsPoller"/>).</summary>
    public Task PollTrendsAsync(CancellationToken ct) => new XTrendsPoller(options, _api, trends, timeProvider, logger).PollAsync(ct);

    /// <summary>
    /// Publishes posts not seen recently (stream redeliveries and search overlap are dropped by id); every caller's
    /// events came through a <see cref="FeedPump"/>, which stamped their receipt time.
    /// </summary>
    private async Task WriteNewAsync(IReadOnlyList<FeedEvent> events, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        foreach (var e in events)
        {
            if (e.Post is not { } post || !_seen.Add(post.NativeId))
            {
                continue;
            }

            await writer.WriteAsync(e, ct).ConfigureAwait(false);
        }
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead) =>
        _api.SendAsync(method, path, body, ct, completion);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "X filtered stream connected")]
    private partial void LogConnected();

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "X stream disconnected ({Kind}): {Error}")]
    private partial void LogDisconnected(XFailure kind, string error);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "X notice: {Notice}")]
    private partial void LogNotice(string notice);

}
