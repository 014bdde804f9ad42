using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Mastodon;

/// <summary>
/// One instance's trends every <see cref="MastodonInstanceOptions.TrendsIntervalSeconds"/>: tags and links into the
/// <see cref="TrendRegistry"/>, trending statuses also as posts. Its own loop beside the instance's streams.
/// </summary>
public sealed partial class MastodonTrendsPoller(
    MastodonInstanceOptions instance, HttpClient http, TrendRegistry trends, string feedName, TimeProvider timeProvider, ILogger logger)
{
    private readonly string _host = new Uri(instance.BaseUrl).Host;

    public async Task RunAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await PollAsync(writer, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException or Polly.Timeout.TimeoutRejectedException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    LogTrendsFailed(_host, ex.Message);
                }

                await Task.Delay(TimeSpan.FromSeconds(instance.TrendsIntervalSeconds), timeProvider, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>Tags and links are recorded as trends; trending statuses also become posts.</summary>
    public async Task PollAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var baseUrl = instance.BaseUrl.TrimEnd('/');
        var list = new List<Trend>();
        using (var tags = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/api/v1/trends/tags", ct).ConfigureAwait(false)))
        {
            list.AddRange(tags.RootElement.EnumerateArray().Select(t => new Trend(t.Str("name") ?? "?", "tag", Uses(t), t.Str("url"))));
        }

        using (var links = JsonDocument.Parse(await http.GetStringAsync($"{baseUrl}/api/v1/trends/links", ct).ConfigureAwait(false)))
        {
            list.AddRange(links.RootElement.EnumerateArray().Select(l => new Trend(l.Str("title") ?? l.Str("url") ?? "?", "link", Uses(l), l.Str("url"))));
        }

        var statusesUrl = $"{baseUrl}/api/v1/trends/statuses";
        var statusesJson = await http.GetStringAsync(statusesUrl, ct).ConfigureAwait(false);
        using (var statuses = JsonDocument.Parse(statusesJson))
        {
            var hash = ContentHash.OfRaw(statusesJson);
            foreach (var s in statuses.RootElement.EnumerateArray())
            {
                if (MastodonParser.ToPost(s, _host, hash, new ParseContext(feedName, statusesUrl, timeProvider.GetUtcNow())) is { } p)
                {
                    list.Add(new Trend(p.Id, "status", p.Metrics?.Total, p.Url));
                    p.ReceivedAt = timeProvider.GetUtcNow();
                    await writer.WriteAsync(FeedEvent.Upsert(p), ct).ConfigureAwait(false);
                }
            }
        }

        trends.Record(new TrendSnapshot($"mastodon:{_host}", timeProvider.GetUtcNow(), list));
    }

    private static long? Uses(JsonElement trend) =>
        trend.Arr("history").Select(h => h.Long("uses")).FirstOrDefault();

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Mastodon {Host} trends poll failed: {Error}")]
    private partial void LogTrendsFailed(string host, string error);
}
