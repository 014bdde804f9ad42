namespace StreamIngest.Host.Watches;

public sealed class WatchOptions
{
    public const string Section = "Watches";

    /// <summary>Attempts per event before it is dead-lettered (the first try included).</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait before the second attempt; it doubles each time, up to <see cref="MaxBackoffSeconds"/>.</summary>
    public double FirstBackoffSeconds { get; set; } = 1;

    public double MaxBackoffSeconds { get; set; } = 60;

    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// How often event streams and the webhook worker read the store for events recorded by another process (the
    /// process role, when this is the API role); matches made in this process wake them at once.
    /// </summary>
    public double PollSeconds { get; set; } = 2;

    /// <summary>
    /// How long a replica's claim on a watch's webhook lasts without renewal (renewed before every attempt), so
    /// replicas sharing the store deliver each watch from one of them; longer than a backoff plus a timeout.
    /// </summary>
    public double LeaseSeconds { get; set; } = 120;

    /// <summary>
    /// How long a watch's events and delivery log are kept in Cosmos DB, whatever the posts' retention: a webhook that
    /// is down for days still gets its events when it returns, within this time (default 7 days).
    /// </summary>
    public double EventRetentionHours { get; set; } = 168;

    public IEnumerable<string> Validate()
    {
        if (EventRetentionHours is < 1 or > 24 * 366)
        {
            yield return $"{Section}:EventRetentionHours must be from 1 to 8784 (got {EventRetentionHours}).";
        }

        if (MaxAttempts is < 1 or > 100)
        {
            yield return $"{Section}:MaxAttempts must be from 1 to 100 (got {MaxAttempts}).";
        }

        if (FirstBackoffSeconds <= 0 || MaxBackoffSeconds < FirstBackoffSeconds)
        {
            yield return $"{Section}:FirstBackoffSeconds must be positive and at most {Section}:MaxBackoffSeconds (got {FirstBackoffSeconds} and {MaxBackoffSeconds}).";
        }

        if (TimeoutSeconds <= 0 || PollSeconds <= 0)
        {
            yield return $"{Section}:TimeoutSeconds and {Section}:PollSeconds must be positive (got {TimeoutSeconds} and {PollSeconds}).";
        }

        if (LeaseSeconds <= MaxBackoffSeconds + TimeoutSeconds)
        {
            yield return $"{Section}:LeaseSeconds must be longer than {Section}:MaxBackoffSeconds + {Section}:TimeoutSeconds ({MaxBackoffSeconds + TimeoutSeconds} s), or another replica takes over a delivery still in progress (got {LeaseSeconds}).";
        }
    }
}
