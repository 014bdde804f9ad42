namespace StreamIngest.Feeds.X;

public sealed class XOptions
{
    public const string Section = "Feeds:X";

    /// <summary>App bearer token, from configuration or a secret store. The adapter is off without one.</summary>
    public string? BearerToken { get; set; }

    public string BaseUrl { get; set; } = "https://api.x.com";

    /// <summary>Connect the filtered stream (needs a tier with stream access).</summary>
    public bool StreamEnabled { get; set; } = true;

    /// <summary>Filtered-stream rules, kept in step with the server at start (added when missing).</summary>
    public List<XRule> Rules { get; set; } = [];

    /// <summary>Delete server rules that are not in <see cref="Rules"/>.</summary>
    public bool PruneRules { get; set; } = true;

    /// <summary>X sends a keep-alive every 20 s; silence this long means the connection is stalled.</summary>
    public int StallTimeoutSeconds { get; set; } = 90;

    /// <summary>Stream lines larger than this are dead-lettered (a post with its expansions is a few KB).</summary>
    public int MaxLineBytes { get; set; } = 1 << 20;

    /// <summary>Ask the stream to redeliver this many minutes after a reconnect (1–5; accounts that have it). 0 = off.</summary>
    public int BackfillMinutes { get; set; }

    /// <summary>Poll recent search (since_id) as well as, or instead of, the stream.</summary>
    public bool RecentSearchEnabled { get; set; }

    /// <summary>Recent search query; empty = the rules OR-ed together.</summary>
    public string? RecentSearchQuery { get; set; }

    public int RecentSearchIntervalSeconds { get; set; } = 60;

    /// <summary>Pages the recent-search loop reads at most per poll (100 posts each).</summary>
    public int GapRecoveryMaxPages { get; set; } = 10;

    /// <summary>
    /// Posts per hour gap recovery may read from recent search (billed per post read). Recovery pages until a gap is
    /// closed; what this budget leaves open is recorded with its exact span and read when budget returns.
    /// </summary>
    public int GapRecoveryReadBudgetPerHour { get; set; } = 10_000;

    /// <summary>Where-On-Earth id for trends (1 = worldwide); 0 = off.</summary>
    public int TrendsWoeid { get; set; }

    /// <summary>Trends polled this often (the endpoint allows 75 calls per 15 minutes).</summary>
    public int TrendsIntervalSeconds { get; set; } = 900;

    /// <summary>The switch every feed has (default on): the feed runs when it is on and configured (<see cref="Runs"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>On, with a bearer token.</summary>
    public bool Runs => Enabled && !string.IsNullOrWhiteSpace(BearerToken);

    public string EffectiveQuery => !string.IsNullOrWhiteSpace(RecentSearchQuery)
        ? RecentSearchQuery
        : string.Join(" OR ", Rules.Select(r => Rules.Count > 1 ? $"({r.Value})" : r.Value));

    public IEnumerable<string> Validate()
    {
        if (!Runs)
        {
            yield break;
        }

        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        {
            yield return $"{Section}:BaseUrl must be an absolute http(s) URL (got '{BaseUrl}').";
        }

        if (StreamEnabled && Rules.Count == 0)
        {
            yield return $"{Section}:Rules must hold at least one rule when {Section}:StreamEnabled is true.";
        }

        if (RecentSearchEnabled && string.IsNullOrWhiteSpace(EffectiveQuery))
        {
            yield return $"{Section}:RecentSearchQuery (or {Section}:Rules) must be set when {Section}:RecentSearchEnabled is true.";
        }

        if (BackfillMinutes is < 0 or > 5)
        {
            yield return $"{Section}:BackfillMinutes must be from 0 to 5 (got {BackfillMinutes}).";
        }

        if (StallTimeoutSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:StallTimeoutSeconds must be from 1 to 3600 (got {StallTimeoutSeconds}).";
        }

        if (MaxLineBytes is < 1024 or > 64 * 1024 * 1024)
        {
            yield return $"{Section}:MaxLineBytes must be from 1024 to 67108864 (got {MaxLineBytes}).";
        }

        if (TrendsWoeid > 0 && TrendsIntervalSeconds < 12)
        {
            yield return $"{Section}:TrendsIntervalSeconds must be at least 12 (75 calls per 15 minutes).";
        }
    }
}
