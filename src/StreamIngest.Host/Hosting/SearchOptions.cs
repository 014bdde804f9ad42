using System.ComponentModel.DataAnnotations;
using StreamIngest.Retrieve;

namespace StreamIngest.Host.Hosting;

public sealed class SearchOptions
{
    public const string Section = "Search";

    /// <summary>ISO-8601 or .NET time span: age at which recency has halved.</summary>
    public TimeSpan HalfLife { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Share of the score that recency can take away from an old post (see <see cref="RankingOptions.RecencyWeight"/>).</summary>
    [Range(0.0, 1.0)]
    public double RecencyWeight { get; set; } = new RankingOptions().RecencyWeight;

    [Range(0.0, 1.0)]
    public double EngagementWeight { get; set; } = 0.1;

    [Range(1, 10_000)]
    public int RrfK { get; set; } = 60;

    /// <summary><c>Scores</c> (exact cosine plus a keyword bonus) or <c>Rrf</c> (reciprocal rank fusion); see <see cref="FusionMethod"/>.</summary>
    public FusionMethod Fusion { get; set; } = FusionMethod.Scores;

    /// <summary>
    /// The relevance floor for <c>/v1/search</c> and the MCP search tool: a hybrid or vector result whose cosine
    /// similarity to the query is below it (half of it for a result containing the query's words) is dropped, and a
    /// search left with none abstains (<see cref="RelevanceFloor"/>). Off (0) by default: single-word searches score
    /// low cosines even on their own topic ("inundation" against flood posts is below 0.15 with MiniLM).
    /// </summary>
    [Range(0.0, 1.0)]
    public double MinRelevance { get; set; }

    /// <summary>
    /// The relevance floor for grounding (<c>/v1/ground</c>, chat, the MCP ground tool and prompt), where the input is a
    /// question: unset, the value fitted for the embedding model (<see cref="RelevanceFloor.DefaultFor"/>: 0.2 for
    /// MiniLM; none for a model not fitted here); 0 turns it off. A question nothing clears is answered "no posts".
    /// </summary>
    [Range(0.0, 1.0)]
    public double? GroundMinRelevance { get; set; }

    /// <summary>
    /// Grounding also needs this estimated relevance (a result's <c>score.relevance</c>, calibrated per model) where the
    /// model has an estimate: a post that shares a word with the question but is not about it ("Follow Train" for a
    /// train derailment, 0.0127) clears a cosine floor, not this one. Default 0.02 (low: vague questions score posts
    /// about them low too); not applied to questions over 400 characters; 0 turns it off (docs/decisions/0009).
    /// </summary>
    [Range(0.0, 1.0)]
    public double GroundMinScore { get; set; } = RelevanceFloor.DefaultMinEstimate;

    /// <summary>
    /// What the best keyword match adds to a cosine similarity under <see cref="FusionMethod.Scores"/>. Unset: the weight
    /// fitted for the embedding model (<see cref="RelevanceCalibration.For"/>), else 0.1.
    /// </summary>
    [Range(0.0, 1.0)]
    public double? KeywordWeight { get; set; }

    /// <summary>
    /// Embedded store: stories beyond k a search reads after ranking its candidates by the vector index's own figures
    /// (see <see cref="Embedded.Sqlite.SqliteRetriever.ShortlistStories"/>); 0 reads every candidate.
    /// </summary>
    [Range(0, 1000)]
    public int ShortlistStories { get; set; } = Embedded.Sqlite.SqliteRetriever.DefaultShortlistStories;

    public IEnumerable<string> Validate()
    {
        if (HalfLife <= TimeSpan.Zero)
        {
            yield return $"{Section}:HalfLife must be positive (got {HalfLife}).";
        }
    }
}
