namespace StreamIngest.Feeds.Mastodon;

public sealed class MastodonInstanceOptions
{
    /// <summary>https://mastodon.social and the like.</summary>
    public string BaseUrl { get; set; } = string.Empty;

    /// <summary>Needed for streaming since Mastodon 4.2 (read scope). From configuration or a secret store, never committed.</summary>
    public string? AccessToken { get; set; }

    /// <summary>"public", "public:local", "hashtag:NAME", "list:ID" (needs a token), each its own connection.</summary>
    public List<string> Streams { get; set; } = [];

    /// <summary>The server sends ":thump" about every 10 s; silence this long means the connection is dead.</summary>
    public int HeartbeatTimeoutSeconds { get; set; } = 60;

    /// <summary>Trends (tags, statuses, links) polled this often; 0 = off.</summary>
    public int TrendsIntervalSeconds { get; set; } = 900;

    /// <summary>After a reconnect, REST pages (40 statuses each) read at most to close the gap.</summary>
    public int BackfillMaxPages { get; set; } = 25;
}
