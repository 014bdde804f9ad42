namespace StreamIngest.Feeds.Mastodon;

public sealed class MastodonOptions
{
    public const string Section = "Feeds:Mastodon";

    public List<MastodonInstanceOptions> Instances { get; set; } = [];

    /// <summary>The switch every feed has (default on): the feed runs when it is on and configured (<see cref="Runs"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>On, with at least one instance.</summary>
    public bool Runs => Enabled && Instances.Count > 0;

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Instances.Count; i++)
        {
            var key = $"{Section}:Instances:{i}";
            var inst = Instances[i];
            if (!Uri.TryCreate(inst.BaseUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                yield return $"{key}:BaseUrl must be an absolute http(s) URL (got '{inst.BaseUrl}').";
            }

            foreach (var s in inst.Streams)
            {
                if (MastodonStream.TryParse(s) is null)
                {
                    yield return $"{key}:Streams: '{s}' is not one of public, public:local, hashtag:NAME, list:ID.";
                }
            }

            if (inst.HeartbeatTimeoutSeconds is < 1 or > 3600)
            {
                yield return $"{key}:HeartbeatTimeoutSeconds must be from 1 to 3600.";
            }
        }
    }
}

/// <summary>A stream and the REST timeline that backfills it.</summary>
public sealed record MastodonStream(string Name, string StreamPath, string TimelinePath)
{
    public static MastodonStream? TryParse(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? spec : spec[..colon];
        var arg = colon < 0 ? null : Uri.EscapeDataString(spec[(colon + 1)..]);
        return (kind, arg) switch
        {
            ("public", null) => new(spec, "/api/v1/streaming/public", "/api/v1/timelines/public"),
            ("public", "local") => new(spec, "/api/v1/streaming/public/local", "/api/v1/timelines/public?local=true"),
            ("hashtag", { Length: > 0 }) => new(spec, $"/api/v1/streaming/hashtag?tag={arg}", $"/api/v1/timelines/tag/{arg}"),
            ("list", { Length: > 0 }) => new(spec, $"/api/v1/streaming/list?list={arg}", $"/api/v1/timelines/list/{arg}"),
            _ => null,
        };
    }
}
