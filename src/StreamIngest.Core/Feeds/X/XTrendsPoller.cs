using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;

namespace StreamIngest.Feeds.X;

/// <summary>
/// X trends for one WOEID, every <see cref="XOptions.TrendsIntervalSeconds"/>, into the <see cref="TrendRegistry"/>;
/// a 429 waits until the reset it names. Its own loop: a failing trends endpoint never touches the stream.
/// </summary>
public sealed partial class XTrendsPoller(XOptions options, XApiClient api, TrendRegistry trends, TimeProvider timeProvider, ILogger logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wait = TimeSpan.FromSeconds(options.TrendsIntervalSeconds);
                try
                {
                    await PollAsync(ct).ConfigureAwait(false);
                }
                catch (XApiException ex) when (ex.Kind == XFailure.RateLimited)
                {
                    wait = ex.ResetIn is { } r && r > wait ? r : wait;
                }
                catch (Exception ex) when (ex is XApiException or HttpRequestException or JsonException or Polly.Timeout.TimeoutRejectedException)
                {
                    LogTrendsFailed(ex.Message);
                }

                await Task.Delay(wait, timeProvider, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    public async Task PollAsync(CancellationToken ct)
    {
        using var response = await api.SendAsync(HttpMethod.Get, $"/2/trends/by/woeid/{options.TrendsWoeid.ToString(CultureInfo.InvariantCulture)}", null, ct).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        var list = doc.RootElement.Arr("data")
            .Select(t => new Trend(t.Str("trend_name") ?? "?", "topic", t.Long("tweet_count"), null))
            .ToList();
        trends.Record(new TrendSnapshot($"x:woeid:{options.TrendsWoeid}", timeProvider.GetUtcNow(), list));
    }

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning, Message = "X trends poll failed: {Error}")]
    private partial void LogTrendsFailed(string error);
}
