using StreamIngest.Model;

namespace StreamIngest.Retrieve;

public enum SearchMode
{
    Hybrid,
    Keyword,
    Vector,
}

public enum EntityKind
{
    Hashtag,
    Cashtag,
    Mention,
}

public sealed record EntityFilter(EntityKind Kind, string Value)
{
    /// <summary>Parses "#flood", "$TSLA", "@user" (or "hashtag:flood", "cashtag:TSLA", "mention:user").</summary>
    public static EntityFilter? TryParse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 200)
        {
            return null;
        }

        text = text.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            var kind = text[..colon].ToLowerInvariant() switch
            {
                "hashtag" or "tag" => EntityKind.Hashtag,
                "cashtag" or "ticker" => EntityKind.Cashtag,
                "mention" => EntityKind.Mention,
                _ => (EntityKind?)null,
            };
            return kind is null ? null : Create(kind.Value, text[(colon + 1)..]);
        }

        return text[0] switch
        {
            '#' => Create(EntityKind.Hashtag, text[1..]),
            '$' => Create(EntityKind.Cashtag, text[1..]),
            '@' => Create(EntityKind.Mention, text[1..]),
            _ => null,
        };
    }

    private static EntityFilter? Create(EntityKind kind, string value)
    {
        value = value.Trim().TrimStart('#', '$', '@');
        if (value.Length == 0)
        {
            return null;
        }

        return new EntityFilter(kind, kind == EntityKind.Cashtag ? value.ToUpperInvariant() : value.ToLowerInvariant());
    }
}

/// <summary>What to search for and within which bounds. Validation lives at the API edge.</summary>
public sealed record SearchQuery
{
    public required string Text { get; init; }
    public int K { get; init; } = 10;
    public SearchMode Mode { get; init; } = SearchMode.Hybrid;
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    public string? Source { get; init; }
    public string? Lang { get; init; }
    public EntityFilter? Entity { get; init; }

    /// <summary>Collapse exact duplicates and reposts (same content hash) into one result.</summary>
    public bool CollapseDuplicates { get; init; } = true;

    /// <summary>Signal filters, applied to the candidates of both lists before fusion.</summary>
    public PostFilter Filter { get; init; } = PostFilter.None;

    /// <summary>Leave out results whose estimated relevance (<see cref="ScoreParts.Relevance"/>) is below this; results without an estimate stay.</summary>
    public double? MinRelevance { get; init; }
}

/// <summary>
/// Filters on what enrichment found: sentiment label and score range, safety labels, engagement, author and
/// linked domain. Stores apply what they can in their own query language and the rest here, on candidates,
/// so every store answers the same.
/// </summary>
public sealed record PostFilter
{
    public static readonly PostFilter None = new();

    /// <summary>negative, neutral or positive.</summary>
    public string? Sentiment { get; init; }

    public double? MinSentiment { get; init; }

    public double? MaxSentiment { get; init; }

    /// <summary>Leave out every post that carries a safety label.</summary>
    public bool ExcludeLabelled { get; init; }

    public long? MinEngagement { get; init; }

    /// <summary>Author handle (case-insensitive, without '@').</summary>
    public string? Author { get; init; }

    public string? ExcludeAuthor { get; init; }

    /// <summary>Host of a linked URL; subdomains match ("example.org" matches "news.example.org").</summary>
    public string? Domain { get; init; }

    public bool IsEmpty => this == None;

    public bool Accepts(Post post)
    {
        if (Sentiment is not null && !string.Equals(post.Sentiment?.Label, Sentiment, StringComparison.Ordinal))
        {
            return false;
        }

        if ((MinSentiment is not null || MaxSentiment is not null) && post.Sentiment is not { } s)
        {
            return false;
        }

        if (MinSentiment is { } min && post.Sentiment!.Score < min)
        {
            return false;
        }

        if (MaxSentiment is { } max && post.Sentiment!.Score > max)
        {
            return false;
        }

        if (ExcludeLabelled && post.SafetyLabels.Count > 0)
        {
            return false;
        }

        if (MinEngagement is { } engagement && (post.Metrics?.Total ?? 0) < engagement)
        {
            return false;
        }

        if (Author is not null && !string.Equals(post.Author.Handle.TrimStart('@'), Author, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (ExcludeAuthor is not null && string.Equals(post.Author.Handle.TrimStart('@'), ExcludeAuthor, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return Domain is null || post.Entities.Urls.Any(u => Uri.TryCreate(u, UriKind.Absolute, out var uri)
            && (uri.Host.Equals(Domain, StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith("." + Domain, StringComparison.OrdinalIgnoreCase)));
    }
}

/// <summary>How a result's score was made, so users can see why it ranked where it did.</summary>
public sealed record ScoreParts(double? Vector, double? Keyword, double Recency, double Engagement, double Fused, double Final)
{
    /// <summary>
    /// Estimated probability (0–1) that the result is about the query, calibrated per embedding model
    /// (<see cref="RelevanceCalibration"/>): one threshold means the same whichever model is configured. Null where
    /// there is no estimate (keyword mode, no vector, a model not calibrated here).
    /// </summary>
    public double? Relevance { get; init; }
}

public sealed record SearchHit(Post Post, ScoreParts Score, int Duplicates);

/// <param name="StageMs">Where the search's time went (<see cref="SearchStages"/>), when the store measures it.</param>
/// <param name="Abstention">Set when no result clears the relevance floor (<see cref="RelevanceFloor"/>): the search abstains.</param>
public sealed record SearchResult(IReadOnlyList<SearchHit> Hits, int CandidatesConsidered, SearchMode Mode, IReadOnlyDictionary<string, double>? StageMs = null, Abstention? Abstention = null);

/// <summary>
/// Nothing searched clears the relevance floor: the honest answer is "no posts on this". When the search had a
/// window and posts outside it do clear the floor, <see cref="NewestMatchAt"/> says how recent the newest is.
/// </summary>
public sealed record Abstention(string Reason, DateTimeOffset? NewestMatchAt);
