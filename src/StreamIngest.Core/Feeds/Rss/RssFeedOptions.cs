namespace StreamIngest.Feeds.Rss;

public sealed class RssFeedOptions
{
    public string Url { get; set; } = string.Empty;

    /// <summary>Seconds between polls of this feed.</summary>
    public int IntervalSeconds { get; set; } = 300;
}
