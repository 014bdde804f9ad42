namespace StreamIngest.Feeds.Rss;

public sealed class RssOptions
{
    public const string Section = "Feeds:Rss";

    public List<RssFeedOptions> Feeds { get; set; } = [];

    /// <summary>The switch every feed has (default on): the feed runs when it is on and configured (<see cref="Runs"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>On, with at least one feed URL.</summary>
    public bool Runs => Enabled && Feeds.Count > 0;

    /// <summary>Feeds larger than this are rejected (dead-lettered), not parsed.</summary>
    public int MaxFeedBytes { get; set; } = 10 * 1024 * 1024;

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Feeds.Count; i++)
        {
            if (!Uri.TryCreate(Feeds[i].Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                yield return $"{Section}:Feeds:{i}:Url must be an absolute http(s) URL (got '{Feeds[i].Url}').";
            }

            if (Feeds[i].IntervalSeconds is < 10 or > 86_400)
            {
                yield return $"{Section}:Feeds:{i}:IntervalSeconds must be from 10 to 86400 (got {Feeds[i].IntervalSeconds}).";
            }
        }
    }
}
