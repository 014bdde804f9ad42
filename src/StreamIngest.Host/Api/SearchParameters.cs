using System.Globalization;
using StreamIngest.Retrieve;

namespace StreamIngest.Host.Api;

/// <summary>
/// The search parameters shared by <c>/v1/search</c> and <c>/v1/ground</c>, validated at the edge:
/// every problem is reported under the name of the parameter that caused it.
/// </summary>
public sealed record SearchParameters(
    string? Q,
    string? K,
    string? Mode,
    string? Window,
    string? Since,
    string? Until,
    string? Source,
    string? Lang,
    string? Entity,
    string? Collapse)
{
    /// <summary>The signal filters (<c>sentiment</c>, <c>min_sentiment</c>, <c>max_sentiment</c>, <c>safety</c>, <c>min_engagement</c>, <c>author</c>, <c>exclude_author</c>, <c>domain</c>).</summary>
    public SignalParameters Signals { get; init; } = new();

    /// <summary><c>min_score</c>: the least estimated relevance (0–1, a result's <c>score.relevance</c>) a result may have.</summary>
    public string? MinScore { get; init; }

    public const int MaxQueryChars = 1000;
    public const int MaxK = 100;
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(366);

    public SearchQuery? Validate(DateTimeOffset now, Dictionary<string, string[]> errors, string queryName = "q", int defaultK = 10)
    {
        void Error(string name, string message) => errors[name] = [message];

        if (string.IsNullOrWhiteSpace(Q))
        {
            Error(queryName, $"'{queryName}' is required.");
        }
        else if (Q.Length > MaxQueryChars)
        {
            Error(queryName, $"'{queryName}' is {Q.Length} characters; at most {MaxQueryChars} are allowed.");
        }

        var k = defaultK;
        if (K is not null && (!int.TryParse(K, NumberStyles.Integer, CultureInfo.InvariantCulture, out k) || k < 1 || k > MaxK))
        {
            Error("k", $"'k' must be an integer from 1 to {MaxK}.");
        }

        var mode = SearchMode.Hybrid;
        if (Mode is not null && !Enum.TryParse(Mode, ignoreCase: true, out mode) || !Enum.IsDefined(mode))
        {
            Error("mode", "'mode' must be one of: hybrid, keyword, vector.");
        }

        DateTimeOffset? since = null, until = null;
        if (Window is not null)
        {
            if (Since is not null)
            {
                Error("window", "Use either 'window' or 'since', not both.");
            }

            if (!IsoDuration.TryParse(Window, out var window) || window <= TimeSpan.Zero || window > MaxWindow)
            {
                Error("window", "'window' must be a positive ISO-8601 duration of at most one year, such as PT1H, PT30M or P2D.");
            }
            else
            {
                since = now - window;
            }
        }

        if (Since is not null)
        {
            since = ParseTime("since", Since, errors);
        }

        if (Until is not null)
        {
            until = ParseTime("until", Until, errors);
        }

        if (since is not null && until is not null && since > until)
        {
            Error("until", "'until' must not be before 'since'.");
        }

        if (Source is not null && (Source.Length is 0 or > 32 || !Source.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            Error("source", "'source' must be a source name such as x, bsky, mastodon, rss or demo.");
        }

        if (Lang is not null && (Lang.Length is < 2 or > 8 || !Lang.All(char.IsAsciiLetter)))
        {
            Error("lang", "'lang' must be a language code such as en or de.");
        }

        EntityFilter? entity = null;
        if (Entity is not null && (entity = EntityFilter.TryParse(Entity)) is null)
        {
            Error("entity", "'entity' must be #hashtag, $CASHTAG or @mention (or hashtag:x, cashtag:X, mention:x).");
        }

        var collapse = true;
        if (Collapse is not null && !bool.TryParse(Collapse, out collapse))
        {
            Error("collapse", "'collapse' must be true or false.");
        }

        double? minRelevance = null;
        if (MinScore is not null)
        {
            if (double.TryParse(MinScore, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m is >= 0 and <= 1)
            {
                minRelevance = m;
            }
            else
            {
                Error("min_score", "'min_score' must be an estimated relevance from 0 to 1 (a result's score.relevance).");
            }
        }

        var filter = Signals.Validate(errors);
        return errors.Count > 0
            ? null
            : new SearchQuery
            {
                Text = Q!.Trim(),
                K = k,
                Mode = mode,
                Since = since,
                Until = until,
                Source = Source?.ToLowerInvariant(),
                Lang = Lang?.ToLowerInvariant(),
                Entity = entity,
                CollapseDuplicates = collapse,
                Filter = filter,
                MinRelevance = minRelevance,
            };
    }

    private static DateTimeOffset? ParseTime(string name, string value, Dictionary<string, string[]> errors)
    {
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
        {
            return t;
        }

        errors[name] = [$"'{name}' must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z."];
        return null;
    }
}

/// <summary>Filters on the signals enrichment stored, as query parameters (or ground body fields) with their API names.</summary>
public sealed record SignalParameters(
    string? Sentiment = null,
    string? MinSentiment = null,
    string? MaxSentiment = null,
    string? Safety = null,
    string? MinEngagement = null,
    string? Author = null,
    string? ExcludeAuthor = null,
    string? Domain = null)
{
    /// <summary>Whether <c>safety=exclude</c> was asked for (search: leave out every labelled post).</summary>
    public bool ExcludeLabelled => Safety == "exclude";

    public PostFilter Validate(Dictionary<string, string[]> errors)
    {
        void Error(string name, string message) => errors[name] = [message];

        if (Sentiment is not (null or "negative" or "neutral" or "positive"))
        {
            Error("sentiment", "'sentiment' must be negative, neutral or positive.");
        }

        double? Score(string name, string? value)
        {
            if (value is null)
            {
                return null;
            }

            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is >= -1 and <= 1)
            {
                return v;
            }

            Error(name, $"'{name}' must be a number from -1 to 1.");
            return null;
        }

        var min = Score("min_sentiment", MinSentiment);
        var max = Score("max_sentiment", MaxSentiment);
        if (min > max)
        {
            Error("min_sentiment", "'min_sentiment' must not be above 'max_sentiment'.");
        }

        if (Safety is not (null or "include" or "exclude"))
        {
            Error("safety", "'safety' must be include or exclude.");
        }

        long? engagement = null;
        if (MinEngagement is not null)
        {
            if (long.TryParse(MinEngagement, NumberStyles.Integer, CultureInfo.InvariantCulture, out var e) && e >= 0)
            {
                engagement = e;
            }
            else
            {
                Error("min_engagement", "'min_engagement' must be a whole number, 0 or more.");
            }
        }

        static bool IsHandle(string? h) => h is null || (h.TrimStart('@').Length is > 0 and <= 253 && !h.Any(char.IsWhiteSpace));
        if (!IsHandle(Author))
        {
            Error("author", "'author' must be a handle such as rivertonwx or @rivertonwx.");
        }

        if (!IsHandle(ExcludeAuthor))
        {
            Error("exclude_author", "'exclude_author' must be a handle such as rivertonwx or @rivertonwx.");
        }

        if (Domain is not null && Uri.CheckHostName(Domain) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            Error("domain", "'domain' must be a host name such as example.org.");
        }

        var filter = new PostFilter
        {
            Sentiment = Sentiment,
            MinSentiment = min,
            MaxSentiment = max,
            ExcludeLabelled = ExcludeLabelled,
            MinEngagement = engagement,
            Author = Author?.TrimStart('@'),
            ExcludeAuthor = ExcludeAuthor?.TrimStart('@'),
            Domain = Domain?.ToLowerInvariant(),
        };
        return filter.IsEmpty ? PostFilter.None : filter;
    }
}
