using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StreamIngest.Enrich;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Mastodon;

/// <summary>
/// Closes a stream's gap after a reconnect (Mastodon streaming has no resume cursor): reads the stream's REST
/// timeline forward from the last status seen (<c>min_id</c>), page by page, handing the statuses on oldest first.
/// </summary>
internal sealed partial class MastodonBackfill(HttpClient http, string source, TimeProvider timeProvider, ILogger logger)
{
    private const int PageSize = 40;

    /// <summary>True when the gap was closed (a page shorter than a full one came back) within the instance's page limit.</summary>
    public async Task<bool> RunAsync(
        MastodonInstanceOptions instance, string host, MastodonStream stream, string lastId, Action<string> see, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var minId = lastId;
        for (var page = 0; page < instance.BackfillMaxPages; page++)
        {
            var separator = stream.TimelinePath.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var url = $"{instance.BaseUrl.TrimEnd('/')}{stream.TimelinePath}{separator}min_id={Uri.EscapeDataString(minId)}&limit={PageSize}";
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (!string.IsNullOrEmpty(instance.AccessToken))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", instance.AccessToken);
            }

            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogBackfillFailed(host, stream.Name, (int)response.StatusCode);
                return false;
            }

            var json = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            var posts = new List<Post>();
            int count;
            using (var doc = JsonDocument.Parse(json))
            {
                var hash = ContentHash.OfRaw(json);
                foreach (var status in doc.RootElement.EnumerateArray())
                {
                    if (MastodonParser.ToPost(status, host, hash, new ParseContext(source, url, timeProvider.GetUtcNow())) is { } p)
                    {
                        posts.Add(p);
                    }

                    // Advance by the statuses' own ids (a reblog's post is the original, whose id is older).
                    if (status.Str("id") is { } sid)
                    {
                        see(sid);
                        minId = SnowflakeIdComparer.IsNewer(sid, minId) ? sid : minId;
                    }
                }

                count = doc.RootElement.GetArrayLength();
            }

            // Oldest first, by snowflake id (timelines list newest first; equal timestamps are common).
            foreach (var p in posts.OrderBy(p => p.NativeId, SnowflakeIdComparer.Instance))
            {
                p.ReceivedAt = timeProvider.GetUtcNow();
                await writer.WriteAsync(FeedEvent.Upsert(p), ct).ConfigureAwait(false);
            }

            if (count < PageSize)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Mastodon {Host} backfill of {Stream} failed with HTTP {Status}")]
    private partial void LogBackfillFailed(string host, string stream, int status);
}
