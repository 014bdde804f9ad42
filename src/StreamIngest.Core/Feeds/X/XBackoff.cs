namespace StreamIngest.Feeds.X;

public enum XFailure
{
    /// <summary>TCP/IP level: connection refused or reset, stall, stream ended.</summary>
    Network,

    /// <summary>An HTTP error status other than 429.</summary>
    Http,

    /// <summary>HTTP 429 Too Many Requests.</summary>
    RateLimited,
}

/// <summary>A failed X request, classified for the reconnect rules.</summary>
public sealed class XApiException(XFailure kind, string message, TimeSpan? resetIn = null) : Exception(message)
{
    public XFailure Kind { get; } = kind;

    /// <summary>Time until the rate-limit window resets (x-rate-limit-reset), when the server said.</summary>
    public TimeSpan? ResetIn { get; } = resetIn;
}

/// <summary>
/// X's documented reconnect rules for the filtered stream: network errors back off linearly
/// (+250 ms per attempt, at most 16 s); HTTP errors exponentially from 5 s, at most 320 s; 429
/// exponentially from 1 minute, and never before the rate-limit window resets. A successful connection
/// resets all three.
/// </summary>
/// <param name="onDelay">Told every wait taken (the adapter keeps them for health and tests).</param>
public sealed class XBackoff(Action<TimeSpan>? onDelay = null) : IFeedBackoff
{
    public static readonly TimeSpan NetworkStep = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan NetworkMax = TimeSpan.FromSeconds(16);
    public static readonly TimeSpan HttpFirst = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan HttpMax = TimeSpan.FromSeconds(320);
    public static readonly TimeSpan RateLimitFirst = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan RateLimitMax = TimeSpan.FromMinutes(16);

    private int _network;
    private int _http;
    private int _rate;

    public TimeSpan Next(XFailure kind, TimeSpan? resetIn = null)
    {
        switch (kind)
        {
            case XFailure.Network:
                _network++;
                return Min(NetworkStep * _network, NetworkMax);
            case XFailure.Http:
                return Min(HttpFirst * Math.Pow(2, Math.Min(_http++, 16)), HttpMax);
            default:
                var exponential = Min(RateLimitFirst * Math.Pow(2, Math.Min(_rate++, 16)), RateLimitMax);
                return resetIn is { } r && r > exponential ? r : exponential;
        }
    }

    public void Reset() => _network = _http = _rate = 0;

    /// <summary>The wait after <paramref name="failure"/>, by its kind (and the rate-limit reset, when the server said).</summary>
    public TimeSpan NextDelay(Exception failure)
    {
        var delay = Next(Classify(failure), (failure as XApiException)?.ResetIn);
        onDelay?.Invoke(delay);
        return delay;
    }

    public static XFailure Classify(Exception ex) => ex switch
    {
        XApiException x => x.Kind,
        HttpRequestException { StatusCode: { } code } when (int)code == 429 => XFailure.RateLimited,
        HttpRequestException { StatusCode: not null } => XFailure.Http,
        _ => XFailure.Network,
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
