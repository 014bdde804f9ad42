using System.Text.Json;
using System.Threading.Channels;
using Polly;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;

namespace StreamIngest.Feeds.X;

/// <summary>
/// The recent-search loop of the X adapter: every <see cref="XOptions.RecentSearchIntervalSeconds"/>, the pages
/// after the newest post seen (since_id; the first poll reads the newest page only, to establish a position),
/// each page through the adapter's <see cref="FeedPump"/>, new posts handed on through its duplicate filter. Owns its
/// backoff: reset after a poll that answered, never by the stream.
/// </summary>
internal sealed class XRecentSearch(
    XOptions options,
    Func<string, CancellationToken, Task<HttpResponseMessage>> get,
    XSeenIds seen,
    Func<IReadOnlyList<FeedEvent>, ChannelWriter<FeedEvent>, CancellationToken, Task> writeNew,
    FeedPump pump,
    FeedHealth health,
    ResiliencePipeline reconnect,
    XBackoff backoff,
    TimeProvider timeProvider)
{
    public async Task RunAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await reconnect.ExecuteAsync(backoff, async token =>
                {
                    try
                    {
                        if (seen.Newest is not { } newest)
                        {
                            await ReadPageAsync($"/2/tweets/search/recent?query={Uri.EscapeDataString(options.EffectiveQuery)}&max_results=100&{XFeedSource.Fields}", writer, token).ConfigureAwait(false);
                        }
                        else
                        {
                            await SearchSinceAsync(newest, writer, options.GapRecoveryMaxPages, token).ConfigureAwait(false);
                        }

                        health.OnConnected(options.BaseUrl + "/2/tweets/search/recent");
                        backoff.Reset();
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        health.OnDisconnected(ex.Message);
                        throw;
                    }
                }, ct).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(options.RecentSearchIntervalSeconds), timeProvider, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>Pages after <paramref name="sinceId"/>, newest first, until there is no next page or <paramref name="maxPages"/> were read; true when complete.</summary>
    private async Task<bool> SearchSinceAsync(string sinceId, ChannelWriter<FeedEvent> writer, int maxPages, CancellationToken ct)
    {
        var query = Uri.EscapeDataString(options.EffectiveQuery);
        string? next = null;
        for (var page = 0; page < maxPages; page++)
        {
            var url = $"/2/tweets/search/recent?query={query}&since_id={sinceId}&max_results=100&{XFeedSource.Fields}"
                + (next is null ? string.Empty : $"&next_token={Uri.EscapeDataString(next)}");
            next = await ReadPageAsync(url, writer, ct).ConfigureAwait(false);
            if (next is null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One page: its posts handed on, its next_token returned.</summary>
    private async Task<string?> ReadPageAsync(string url, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        using var response = await get(url, ct).ConfigureAwait(false);
        var json = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        await writeNew((await pump.HandleAsync(new RawFrame(json, options.BaseUrl + "/2/tweets/search/recent"), ct).ConfigureAwait(false)).Events, writer, ct).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Obj("meta")?.Str("next_token");
    }
}
