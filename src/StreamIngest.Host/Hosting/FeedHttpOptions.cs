namespace StreamIngest.Host.Hosting;

/// <summary>
/// HTTP settings the feeds share (section <c>Feeds</c>). Streams run on a client without a timeout (each adapter
/// detects stalls per read); every other feed request runs on <see cref="RestClient"/>, which times out.
/// </summary>
public sealed class FeedHttpOptions
{
    public const string Section = "Feeds";

    /// <summary>The named HTTP client for feed requests that are not streams.</summary>
    public const string RestClient = "feeds-rest";

    /// <summary>How long one feed request that is not a stream may take (polls, searches, backfills, rules, trends).</summary>
    public int RestTimeoutSeconds { get; set; } = 30;

    public IEnumerable<string> Validate()
    {
        if (RestTimeoutSeconds is < 1 or > 600)
        {
            yield return $"{Section}:RestTimeoutSeconds must be from 1 to 600 (got {RestTimeoutSeconds}).";
        }
    }
}
