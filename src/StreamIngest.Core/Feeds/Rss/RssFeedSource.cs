using System.Net;
using System.Net.Http.Headers;
using System.ServiceModel.Syndication;
using System.Threading.Channels;
using System.Xml;
using Microsoft.Extensions.Logging;
using Polly.Registry;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Health;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds.Rss;

/// <summary>
/// RSS 2.0 and Atom 1.0 news feeds via System.ServiceModel.Syndication: each feed polled on its own
/// interval with conditional GET (ETag / Last-Modified), items as posts (title + summary, link, publish
/// time). DTDs are refused, so entity-expansion bombs cannot be parsed; failures back off per feed.
/// </summary>
public sealed partial class RssFeedSource(
    RssOptions options,
    HttpClient http,
    IDeadLetterStore deadLetters,
    FeedHealth health,
    TimeProvider timeProvider,
    ILogger<RssFeedSource> logger,
    ResiliencePipelineProvider<string>? pipelines = null) : IFeedSource
{
    public const string Source = "rss";

    public string Name => "rss";

    public IAsyncEnumerable<FeedEvent> ReadAsync(CancellationToken cancellationToken) =>
        FeedMerge.ReadAllAsync(1024, options.Feeds.Select(f => (FeedLoop)((writer, ct) => PollAsync(f, writer, ct))), cancellationToken);

    public static FeedBackoff NewBackoff(Health.FeedHealth? health = null) => new(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), health);

    private async Task PollAsync(RssFeedOptions feed, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var backoff = NewBackoff(health);
        // "rss-poll": a failed poll is retried exponentially from 5 s to 10 min; the interval resumes after a success.
        var pipeline = FeedResilience.Resolve(pipelines, FeedResilience.RssPoll, timeProvider);
        var state = new ConditionalState();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await pipeline.ExecuteAsync(backoff, async token =>
                {
                    try
                    {
                        foreach (var e in await FetchAsync(feed, state, token).ConfigureAwait(false))
                        {
                            await writer.WriteAsync(e, token).ConfigureAwait(false);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or XmlException or TimeoutException or IOException or Polly.Timeout.TimeoutRejectedException)
                    {
                        health.OnDisconnected($"{feed.Url}: {ex.Message}");
                        LogPollFailed(feed.Url, ex.Message);
                        throw;
                    }
                }, ct).ConfigureAwait(false);
                backoff.Reset(); // a poll that succeeded: the next failure starts from the first step again
                await Task.Delay(TimeSpan.FromSeconds(feed.IntervalSeconds), timeProvider, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>One conditional GET of a feed; returns its items as events (none when unchanged).</summary>
    internal async Task<IReadOnlyList<FeedEvent>> FetchAsync(RssFeedOptions feed, ConditionalState state, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, feed.Url);
        request.Headers.Accept.ParseAdd("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8");
        if (state.ETag is not null)
        {
            request.Headers.IfNoneMatch.Add(state.ETag);
        }

        if (state.LastModified is not null)
        {
            request.Headers.IfModifiedSince = state.LastModified;
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        health.OnConnected(feed.Url);
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        if (response.Content.Headers.ContentLength > options.MaxFeedBytes)
        {
            await RejectAsync(feed, $"feed is {response.Content.Headers.ContentLength} bytes, over the limit of {options.MaxFeedBytes}", string.Empty, ct).ConfigureAwait(false);
            return [];
        }

        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        SyndicationFeed parsed;
        try
        {
            using var xml = XmlReader.Create(new MemoryStream(body), new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit,
                XmlResolver = null,
                MaxCharactersInDocument = options.MaxFeedBytes,
                Async = false,
            });
            parsed = SyndicationFeed.Load(xml);
        }
        catch (Exception ex) when (ex is XmlException or InvalidOperationException or NotSupportedException or FormatException)
        {
            // A broken feed is bad input, not an outage: keep it, say why, and poll again next interval.
            await RejectAsync(feed, $"not a valid RSS or Atom feed: {ex.Message}", System.Text.Encoding.UTF8.GetString(body), ct).ConfigureAwait(false);
            return [];
        }

        state.ETag = response.Headers.ETag;
        state.LastModified = response.Content.Headers.LastModified;
        var now = timeProvider.GetUtcNow();
        var hash = ContentHash.OfRaw(body);
        var host = new Uri(feed.Url).Host;
        var events = new List<FeedEvent>();
        foreach (var item in parsed.Items)
        {
            var title = item.Title?.Text?.Trim() ?? string.Empty;
            var summary = (item.Summary?.Text ?? (item.Content as TextSyndicationContent)?.Text ?? string.Empty).Trim();
            var text = summary.Length == 0 ? title : title.Length == 0 ? summary : $"{title}\n\n{summary}";
            var link = item.Links.FirstOrDefault(l => l.RelationshipType is null or "alternate")?.Uri
                ?? item.Links.FirstOrDefault()?.Uri;
            var key = item.Id ?? link?.ToString() ?? title;
            if (text.Length == 0 || key.Length == 0)
            {
                await RejectAsync(feed, "item without title, summary or id", item.Title?.Text ?? string.Empty, ct).ConfigureAwait(false);
                continue;
            }

            var nativeId = $"{host}/{ContentHash.OfRaw(feed.Url + "\n" + key)[..16]}";
            var published = item.PublishDate != default ? item.PublishDate : item.LastUpdatedTime != default ? item.LastUpdatedTime : now;
            health.OnEvent();
            events.Add(FeedEvent.Upsert(new Post
            {
                Id = Post.MakeId(Source, nativeId),
                Source = Source,
                NativeId = nativeId,
                CreatedAt = published > now ? now : published,
                ReceivedAt = now,
                Author = new Author(item.Authors.FirstOrDefault()?.Name ?? item.Authors.FirstOrDefault()?.Email ?? parsed.Title?.Text ?? host, parsed.Title?.Text),
                Text = text,
                Lang = parsed.Language,
                Url = link?.IsAbsoluteUri == true ? link.ToString() : null,
                Entities = new PostEntities([.. item.Categories.Select(c => c.Name).Where(n => !string.IsNullOrWhiteSpace(n) && !n.Contains(' ', StringComparison.Ordinal))], [], [], []),
                Provenance = new Provenance(Name, feed.Url, now, hash),
            }));
        }

        return events;
    }

    private async Task RejectAsync(RssFeedOptions feed, string reason, string raw, CancellationToken ct)
    {
        health.OnDeadLetter();
        await deadLetters.WriteAsync(DeadLetter.Create(Name, reason, raw, feed.Url, timeProvider.GetUtcNow()), ct).ConfigureAwait(false);
    }

    /// <summary>Validators from the last successful fetch, sent back for a conditional GET.</summary>
    internal sealed class ConditionalState
    {
        public EntityTagHeaderValue? ETag { get; set; }

        public DateTimeOffset? LastModified { get; set; }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "RSS poll of {Url} failed: {Error}")]
    private partial void LogPollFailed(string url, string error);
}
