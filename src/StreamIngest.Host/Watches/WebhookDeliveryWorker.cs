using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StreamIngest.Model;
using StreamIngest.Store;
using StreamIngest.Watches;

namespace StreamIngest.Host.Watches;

/// <summary>
/// Delivers each watch's events to its webhook, in order, at least once: <c>POST</c> of the event JSON with
/// <c>Idempotency-Key</c> (the event id, the same on every retry), <c>X-StreamIngest-Timestamp</c> and
/// <c>X-StreamIngest-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))</c>. A failure (non-2xx,
/// timeout, refused) is retried with doubling waits; after <see cref="WatchOptions.MaxAttempts"/> the event is
/// dead-lettered with the reason and the watch moves on. Every attempt is in the delivery log; the delivered position
/// is stored, so a restart resumes where it stopped. Replicas sharing the store each claim a watch's deliveries with a
/// lease before delivering (<see cref="IWatchStore.TryLeaseDeliveryAsync"/>), so one delivers it at a time.
/// </summary>
public sealed class WebhookDeliveryWorker(
    IWatchStore store, IPostStore posts, IDeadLetterStore deadLetters, WatchMatcher matcher, IHttpClientFactory http,
    IOptions<WatchOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider timeProvider, ILogger<WebhookDeliveryWorker> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";

    /// <summary>This replica's name on delivery leases.</summary>
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = matcher.WaitForEventsAsync(stoppingToken);
            var delivered = 0;
            try
            {
                // Each watch's webhook in its own lane: one that keeps failing waits out its backoff alone.
                // The matcher's list (re-read at most every RefreshInterval), not a store read per poll.
                var watches = (await matcher.ListAsync(stoppingToken)).Where(w => w.WebhookUrl is not null);
                delivered = (await Task.WhenAll(watches.Select(w => DeliverPendingSafelyAsync(w, stoppingToken)))).Sum();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Webhook delivery round failed; trying again.");
            }

            if (delivered == 0)
            {
                try
                {
                    await wake.WaitAsync(TimeSpan.FromSeconds(options.Value.PollSeconds), timeProvider, stoppingToken);
                }
                catch (TimeoutException)
                {
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<int> DeliverPendingSafelyAsync(Watch watch, CancellationToken cancellationToken)
    {
        try
        {
            return await DeliverPendingAsync(watch, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Webhook delivery for watch {Watch} failed; trying again.", watch.Id);
            return 0;
        }
    }

    private async Task<int> DeliverPendingAsync(Watch watch, CancellationToken cancellationToken)
    {
        var after = await store.GetDeliveredAsync(watch.Id, cancellationToken);
        if (await store.GetLastEventSeqAsync(watch.Id, cancellationToken) <= after)
        {
            return 0; // nothing new: two point reads, no query
        }

        var events = await store.ReadEventsAsync(watch.Id, after, 50, cancellationToken);
        if (events.Count == 0 || !await RenewLeaseAsync(watch, cancellationToken))
        {
            return 0; // nothing pending (no lease taken: a quiet watch costs no write), or another replica delivers it
        }

        foreach (var e in events)
        {
            if (!await DeliverAsync(watch, e, cancellationToken))
            {
                break; // the lease went to another replica, which resumes from the stored position
            }

            await store.SetDeliveredAsync(watch.Id, e.Seq, cancellationToken);
        }

        return events.Count;
    }

    private Task<bool> RenewLeaseAsync(Watch watch, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return store.TryLeaseDeliveryAsync(watch.Id, _owner, now, now.AddSeconds(options.Value.LeaseSeconds), cancellationToken);
    }

    /// <summary>Delivers one event (or dead-letters it); false when this replica lost the watch's lease before it finished.</summary>
    private async Task<bool> DeliverAsync(Watch watch, WatchEvent e, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var body = JsonSerializer.Serialize(await WatchesApi.ToDtoAsync(e, posts, cancellationToken), json.Value.SerializerOptions);
        var wait = TimeSpan.FromSeconds(o.FirstBackoffSeconds);
        string outcome = "not attempted";
        for (var attempt = 1; attempt <= o.MaxAttempts; attempt++)
        {
            if (attempt > 1 && !await RenewLeaseAsync(watch, cancellationToken))
            {
                return false;
            }

            int? status = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, watch.WebhookUrl) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                var timestamp = timeProvider.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
                request.Headers.Add("Idempotency-Key", $"{e.WatchId}:{e.Seq}");
                request.Headers.Add("X-StreamIngest-Timestamp", timestamp);
                request.Headers.Add("X-StreamIngest-Signature", "sha256=" + Sign(watch.WebhookSecret ?? string.Empty, timestamp, body));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(o.TimeoutSeconds));
                using var response = await http.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
                status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    await store.LogDeliveryAsync(new WatchDelivery(e.WatchId, e.Seq, attempt, status, "delivered", timeProvider.GetUtcNow()), cancellationToken);
                    return true;
                }

                outcome = $"HTTP {status}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                outcome = ex is TaskCanceledException ? $"timed out after {o.TimeoutSeconds} s" : ex.Message;
            }

            await store.LogDeliveryAsync(new WatchDelivery(e.WatchId, e.Seq, attempt, status, "failed: " + outcome, timeProvider.GetUtcNow()), cancellationToken);
            if (attempt < o.MaxAttempts)
            {
                await Task.Delay(wait, timeProvider, cancellationToken);
                wait = TimeSpan.FromSeconds(Math.Min(o.MaxBackoffSeconds, wait.TotalSeconds * 2));
            }
        }

        var reason = $"webhook {watch.WebhookUrl} failed {o.MaxAttempts} times, last: {outcome}";
        await deadLetters.WriteAsync(new DeadLetter("webhook", reason, body, $"{e.WatchId}:{e.Seq}", timeProvider.GetUtcNow()), cancellationToken);
        await store.LogDeliveryAsync(new WatchDelivery(e.WatchId, e.Seq, o.MaxAttempts, null, "dead-lettered: " + outcome, timeProvider.GetUtcNow()), cancellationToken);
        logger.LogWarning("Watch {Watch} event {Seq} dead-lettered: {Reason}", e.WatchId, e.Seq, reason);
        return true;
    }

    /// <summary>HEX(HMAC-SHA256(secret, timestamp + "." + body)): what a receiver recomputes to verify a delivery.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));
}
