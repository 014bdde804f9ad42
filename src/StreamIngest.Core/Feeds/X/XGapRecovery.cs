using System.Net.Http;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;

namespace StreamIngest.Feeds.X;

/// <summary>A stretch of the stream to read back from recent search: posts newer than <see cref="SinceId"/> (and older than <see cref="UntilId"/>, when set).</summary>
public sealed record XGap(string SinceId, string? UntilId, DateTimeOffset Start, DateTimeOffset End);

/// <summary>Posts read from recent search in the last hour, against a budget (recent search is billed per post read).</summary>
public sealed class XReadBudget(int postsPerHour, TimeProvider timeProvider)
{
    private readonly Queue<(DateTimeOffset At, int Posts)> _reads = new();
    private int _used;

    public int PostsPerHour => postsPerHour;

    public int Available
    {
        get
        {
            Prune();
            return postsPerHour - _used;
        }
    }

    public void Spend(int posts)
    {
        _reads.Enqueue((timeProvider.GetUtcNow(), posts));
        _used += posts;
    }

    /// <summary>How long until <paramref name="posts"/> are available again.</summary>
    public TimeSpan UntilAvailable(int posts)
    {
        Prune();
        var now = timeProvider.GetUtcNow();
        var used = _used;
        foreach (var (at, n) in _reads)
        {
            if (postsPerHour - used >= posts)
            {
                break;
            }

            used -= n;
            if (postsPerHour - used >= posts)
            {
                return at.AddHours(1) - now;
            }
        }

        return TimeSpan.Zero;
    }

    private void Prune()
    {
        var cutoff = timeProvider.GetUtcNow().AddHours(-1);
        while (_reads.TryPeek(out var r) && r.At <= cutoff)
        {
            _used -= _reads.Dequeue().Posts;
        }
    }
}

/// <summary>
/// Closes stream gaps from recent search, in the background: pages <c>since_id</c> (newest first) until the
/// gap is closed, within the rate limit (a 429 waits for <c>x-rate-limit-reset</c>) and the read budget per hour.
/// When the budget runs out, what is still missing is exactly the older part (after <c>since_id</c>, before the
/// oldest post read), so that span is recorded as an open gap in the feed's health and read
/// (<c>since_id</c> + <c>until_id</c>) when budget returns.
/// </summary>
public sealed partial class XGapRecovery(
    Func<string, CancellationToken, Task<byte[]>> getJson,
    Func<IReadOnlyList<FeedEvent>, ChannelWriter<FeedEvent>, CancellationToken, Task> write,
    string query,
    string endpoint,
    XReadBudget budget,
    FeedHealth health,
    TimeProvider timeProvider,
    ILogger logger,
    FeedPump pump)
{
    public const int PageSize = 100;
    private readonly Channel<XGap> _gaps = Channel.CreateUnbounded<XGap>(new UnboundedChannelOptions { SingleReader = true });
    private readonly XBackoff _backoff = new();

    public void Enqueue(XGap gap) => _gaps.Writer.TryWrite(gap);

    public async Task RunAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        try
        {
            await foreach (var gap in _gaps.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await RecoverAsync(gap, writer, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task RecoverAsync(XGap gap, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        var until = gap.UntilId;   // the query's upper bound (until_id), fixed while its pages are read
        var oldest = gap.UntilId;  // the oldest post read so far: what is still missing is older than this
        string? next = null;
        var read = 0;
        var pages = 0;
        while (true)
        {
            if (budget.Available < PageSize)
            {
                var wait = budget.UntilAvailable(PageSize);
                health.RecordGap(new FeedGap(gap.Start, gap.End, false,
                    $"read budget of {budget.PostsPerHour} posts/h used up after {read} posts; still missing: posts after {gap.SinceId}{(oldest is null ? string.Empty : $" and before {oldest}")}; retried in {wait.TotalMinutes:F0} min",
                    gap.SinceId, oldest));
                LogBudgetUsed(read, gap.SinceId, oldest ?? "now");
                await Task.Delay(wait, timeProvider, ct).ConfigureAwait(false);
                until = oldest; // the remainder is a new query: the same since_id, until the oldest post read
                next = null;
                continue;
            }

            var url = $"/2/tweets/search/recent?query={query}&since_id={gap.SinceId}&max_results={PageSize}&{XFeedSource.Fields}"
                + (until is null ? string.Empty : $"&until_id={until}")
                + (next is null ? string.Empty : $"&next_token={Uri.EscapeDataString(next)}");
            byte[] json;
            try
            {
                json = await getJson(url, ct).ConfigureAwait(false);
                _backoff.Reset();
            }
            catch (Exception ex) when (ex is XApiException or HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                var delay = _backoff.Next(XBackoff.Classify(ex), (ex as XApiException)?.ResetIn);
                health.OnWaiting(delay);
                LogRetry(ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, timeProvider, ct).ConfigureAwait(false);
                continue;
            }

            // Through the adapter's pump like every other frame: parsed once from the bytes, dead-lettered if it does not parse.
            var outcome = await pump.HandleAsync(new RawFrame(json, endpoint), ct).ConfigureAwait(false);
            var posts = outcome.Events.Where(e => e.Post is not null).ToList();
            budget.Spend(Math.Max(posts.Count, 1));
            read += posts.Count;
            pages++;
            await write(outcome.Events, writer, ct).ConfigureAwait(false);
            foreach (var p in posts)
            {
                if (oldest is null || SnowflakeIdComparer.Instance.Compare(p.Post!.NativeId, oldest) < 0)
                {
                    oldest = p.Post!.NativeId;
                }
            }

            using var doc = JsonDocument.Parse(json);
            next = doc.RootElement.Obj("meta")?.Str("next_token");
            if (next is null)
            {
                health.RecordGap(new FeedGap(gap.Start, gap.End, true, $"recovered with recent search since {gap.SinceId}: {read} posts in {pages} pages"));
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "X gap recovery: read budget used after {Read} posts; posts after {SinceId} and before {UntilId} wait for budget")]
    private partial void LogBudgetUsed(int read, string sinceId, string untilId);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Warning, Message = "X gap recovery: {Error}; again in {DelaySeconds:F0} s")]
    private partial void LogRetry(string error, double delaySeconds);
}
