using System.Text.Json.Serialization;

namespace StreamIngest.Model;

/// <summary>
/// One social post as StreamIngest stores it. <see cref="Id"/> is deterministic (<c>source:nativeId</c>),
/// so reprocessing the same item upserts instead of duplicating.
/// Identity and source fields are set by the feed adapter; enrichment fields are filled by the workers.
/// </summary>
public sealed class Post
{
    public required string Id { get; init; }
    public required string Source { get; init; }
    public required string NativeId { get; init; }

    /// <summary>When the platform says the post was written (source time).</summary>
    public required DateTimeOffset CreatedAt { get; set; }

    /// <summary>When StreamIngest received it (receipt time); freshness is measured from here.</summary>
    public DateTimeOffset ReceivedAt { get; set; }

    public Author Author { get; set; } = Author.Unknown;
    public required string Text { get; set; }
    public string? Lang { get; set; }
    public string? Url { get; set; }
    public PostRelations Relations { get; set; } = PostRelations.None;
    public Engagement? Metrics { get; set; }
    public PostEntities Entities { get; set; } = PostEntities.Empty;
    public required Provenance Provenance { get; init; }

    // Enrichment (filled by the workers).
    public string? ContentHash { get; set; }

    /// <summary>Id of the first stored post with the same content hash, when this one is an exact copy or repost.</summary>
    public string? DuplicateOf { get; set; }

    /// <summary>Sentiment of the post, and a finance-aware score for the tickers it mentions.</summary>
    public PostSentiment? Sentiment { get; set; }
    /// <summary>Safety labels with their scores (<c>prompt_injection</c>, <c>offensive</c>, <c>hate</c>); what each means for a use is <c>Safety:Policies</c>.</summary>
    public IReadOnlyList<SafetyLabel> SafetyLabels { get; set; } = [];
    public string? ClusterId { get; set; }

    /// <summary>Unit-length embedding of <see cref="Text"/>; null until embedded. Stored beside the document, not in it.</summary>
    [JsonIgnore]
    public float[]? Embedding { get; set; }

    public static string MakeId(string source, string nativeId) => $"{source}:{nativeId}";
}

public sealed record Author(string Handle, string? DisplayName = null, long? Followers = null, string? NativeId = null)
{
    public static readonly Author Unknown = new("unknown");
}

public sealed record PostRelations(string? ReplyTo = null, string? QuoteOf = null, string? RepostOf = null)
{
    public static readonly PostRelations None = new();
}

public sealed record Engagement(long Likes = 0, long Reposts = 0, long Replies = 0, long Quotes = 0)
{
    public long Total => Likes + Reposts + Replies + Quotes;
}

public sealed record PostEntities(
    IReadOnlyList<string> Hashtags,
    IReadOnlyList<string> Cashtags,
    IReadOnlyList<string> Mentions,
    IReadOnlyList<string> Urls)
{
    public static readonly PostEntities Empty = new([], [], [], []);
}

/// <summary>
/// Sentiment: a label (negative / neutral / positive), a score in [-1, 1] (P(positive) − P(negative)), and for a post
/// with cashtags a finance-aware score in [-1, 1] per ticker.
/// </summary>
public sealed record PostSentiment(string Label, double Score, IReadOnlyDictionary<string, double>? Tickers = null);

/// <summary>A safety label on a post: its name, the score that put it there, and the evidence where the labeller has some.</summary>
public sealed record SafetyLabel(string Label, double Score, IReadOnlyList<string>? Evidence = null);

/// <summary>Where a post came from: which adapter, which endpoint or file, when, and a hash of the raw payload.</summary>
public sealed record Provenance(string Adapter, string Endpoint, DateTimeOffset FetchedAt, string RawSha256);
