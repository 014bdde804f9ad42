using StreamIngest.Model;

namespace StreamIngest.Retrieve;

public sealed record RankingOptions
{
    /// <summary>Age at which the recency factor has halved.</summary>
    public TimeSpan HalfLife { get; init; } = TimeSpan.FromHours(6);

    /// <summary>
    /// Share of the score that recency can take away from an old post (0 = ignore age, 1 = age only). Small by default:
    /// a time window is how a user asks for fresh posts, and within one, age is a tie-breaker. On <c>bench relevance</c>
    /// (questions asked at the end of multi-day crises) 0.5 cost a tenth of P@10 against 0.1.
    /// </summary>
    public double RecencyWeight { get; init; } = 0.1;

    /// <summary>Largest relative boost that engagement can add (0.1 = at most +10%).</summary>
    public double EngagementWeight { get; init; } = 0.1;

    /// <summary>Reciprocal rank fusion constant (60 in the original paper); used when a store has no exact similarities.</summary>
    public int RrfK { get; init; } = 60;

    /// <summary>How the two lists become one relevance score.</summary>
    public FusionMethod Fusion { get; init; } = FusionMethod.Scores;

    /// <summary>
    /// With <see cref="FusionMethod.Scores"/>: what the best keyword match adds to a post's cosine similarity to the
    /// query (a post's BM25 divided by the list's best, times this weight).
    /// </summary>
    public double KeywordWeight { get; init; } = 0.1;

    /// <summary>The embedding model's map from fused score to estimated relevance (<see cref="ScoreParts.Relevance"/>); none: no estimate.</summary>
    public RelevanceCalibration? Calibration { get; init; }

    /// <summary>
    /// The embedding model reads English only (both packaged models): for a question written in a script it cannot read
    /// (Japanese, Chinese, Korean, Cyrillic, Arabic…) its cosine says little, so the keyword bonus is multiplied by
    /// <see cref="OtherScriptKeywordFactor"/>. False (a multilingual remote model): the bonus is the same for every question.
    /// </summary>
    public bool EnglishOnlyEmbedder { get; init; }

    /// <summary>How much more the keyword match counts for a question the embedder cannot read (<see cref="EnglishOnlyEmbedder"/>).</summary>
    public double OtherScriptKeywordFactor { get; init; } = 3;
}

public enum FusionMethod
{
    /// <summary>Reciprocal rank fusion: only ranks count, each list weighs the same (Cormack et al. 2009).</summary>
    Rrf,

    /// <summary>
    /// Every candidate of either list is re-scored by its exact cosine similarity to the query, plus a keyword
    /// bonus from its normalised BM25: the semantic list leads, exact words break ties and bring in what it missed.
    /// Falls back to <see cref="Rrf"/> when the store cannot give similarities for every candidate.
    /// </summary>
    Scores,
}

/// <summary>A candidate from one retriever list, best first, with its raw score (cosine similarity or BM25).</summary>
public readonly record struct Candidate(string Id, double Score);

/// <summary>
/// Fuses vector and keyword candidate lists with reciprocal rank fusion, then applies a recency
/// decay and a mild engagement boost. Shared by every store so results rank the same everywhere.
/// </summary>
public sealed class HybridRanker(RankingOptions options, TimeProvider timeProvider)
{
    public RankingOptions Options => options;

    /// <summary>The clock of the searches this ranker orders: "now" for recency, and the timer of their stages.</summary>
    public TimeProvider TimeProvider => timeProvider;

    public IReadOnlyList<SearchHit> Rank(
        IReadOnlyList<Candidate> vector,
        IReadOnlyList<Candidate> keyword,
        IReadOnlyDictionary<string, Post> posts,
        int k,
        bool collapseDuplicates,
        IReadOnlyDictionary<string, double>? similarity = null,
        double? minRelevance = null,
        string? question = null)
    {
        var keywordFactor = KeywordFactorFor(question);
        var parts = options.Fusion == FusionMethod.Scores && similarity is not null
            ? ByScores(vector, keyword, similarity, keywordFactor)
            : ByRanks(vector, keyword);

        var now = timeProvider.GetUtcNow();
        var scored = new List<SearchHit>(parts.Count);
        var bestKeyword = keyword.Count == 0 ? 0 : keyword.Max(c => c.Score);
        foreach (var (id, p) in parts)
        {
            if (!posts.TryGetValue(id, out var post))
            {
                continue; // deleted between candidate search and load
            }

            var recency = RecencyFactor(post.CreatedAt, now);
            var engagement = EngagementFactor(post.Metrics);
            var final = Final(p.Fused, recency, engagement);
            // Estimated from the cosine and the keyword bonus (the fused score under score fusion), whatever the fusion.
            var relevance = options.Calibration is { } c && p.Vec is { } cosine
                ? Math.Round(c.Estimate(cosine + (p.Kw is { } bm25 ? KeywordBonus(bm25, bestKeyword) * keywordFactor : 0)), 4)
                : (double?)null;
            if (minRelevance is { } min && relevance < min)
            {
                continue;
            }

            scored.Add(new SearchHit(post, new ScoreParts(p.Vec, p.Kw, recency, engagement, p.Fused, final) { Relevance = relevance }, 0));
        }

        scored.Sort(static (a, b) =>
        {
            var c = b.Score.Final.CompareTo(a.Score.Final);
            return c != 0 ? c : b.Post.CreatedAt.CompareTo(a.Post.CreatedAt);
        });

        return collapseDuplicates ? Collapse(scored, k) : scored.Take(k).ToArray();
    }

    private Dictionary<string, (double? Vec, double? Kw, double Fused)> ByRanks(IReadOnlyList<Candidate> vector, IReadOnlyList<Candidate> keyword)
    {
        var parts = new Dictionary<string, (double? Vec, double? Kw, double Fused)>(vector.Count + keyword.Count, StringComparer.Ordinal);
        for (var i = 0; i < vector.Count; i++)
        {
            parts[vector[i].Id] = (vector[i].Score, null, 1.0 / (options.RrfK + i + 1));
        }

        for (var i = 0; i < keyword.Count; i++)
        {
            var rrf = 1.0 / (options.RrfK + i + 1);
            parts[keyword[i].Id] = parts.TryGetValue(keyword[i].Id, out var p)
                ? (p.Vec, keyword[i].Score, p.Fused + rrf)
                : (null, keyword[i].Score, rrf);
        }

        return parts;
    }

    private Dictionary<string, (double? Vec, double? Kw, double Fused)> ByScores(
        IReadOnlyList<Candidate> vector, IReadOnlyList<Candidate> keyword, IReadOnlyDictionary<string, double> similarity, double keywordFactor)
    {
        var parts = new Dictionary<string, (double? Vec, double? Kw, double Fused)>(vector.Count + keyword.Count, StringComparer.Ordinal);
        var best = keyword.Count == 0 ? 0 : keyword.Max(c => c.Score);
        var keywordOnly = vector.Count == 0;
        foreach (var c in vector)
        {
            parts[c.Id] = (c.Score, null, c.Score);
        }

        foreach (var c in keyword)
        {
            if (keywordOnly)
            {
                parts[c.Id] = (null, c.Score, best > 0 ? c.Score / best : 0); // keyword mode: BM25 alone decides
                continue;
            }

            var cosine = parts.TryGetValue(c.Id, out var p) ? p.Vec : similarity.TryGetValue(c.Id, out var s) ? s : (double?)null;
            if (cosine is null)
            {
                continue; // no vector for it (never embedded): nothing to compare it by
            }

            parts[c.Id] = (cosine, c.Score, cosine.Value + KeywordBonus(c.Score, best) * keywordFactor);
        }

        return parts;
    }

    /// <summary>A candidate's final score from its fused relevance, recency factor and engagement factor.</summary>
    public double Final(double fused, double recency, double engagement) =>
        fused * ((1 - options.RecencyWeight) + options.RecencyWeight * recency) * engagement;

    /// <summary>The keyword bonus <see cref="FusionMethod.Scores"/> adds to a candidate's cosine: its BM25 over the list's best, weighted.</summary>
    public double KeywordBonus(double bm25, double best) => best > 0 ? options.KeywordWeight * (bm25 / best) : 0;

    /// <summary>What the keyword bonus is multiplied by for this question: <see cref="RankingOptions.OtherScriptKeywordFactor"/> where an English-only embedder cannot read its script.</summary>
    public double KeywordFactorFor(string? question) =>
        options.EnglishOnlyEmbedder && question is not null && HasLettersOutsideLatin(question) ? Math.Max(1, options.OtherScriptKeywordFactor) : 1;

    private static bool HasLettersOutsideLatin(string text)
    {
        foreach (var c in text)
        {
            // Basic Latin through Latin Extended-B, and Latin Extended Additional: every Latin letter a question uses.
            if (char.IsLetter(c) && c > '\u024F' && c is not (>= '\u1E00' and <= '\u1EFF'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>1 for a post written now, 0.5 at one half-life, tending to 0; future-dated posts count as now.</summary>
    public double RecencyFactor(DateTimeOffset createdAt, DateTimeOffset now)
    {
        var age = now - createdAt;
        if (age <= TimeSpan.Zero)
        {
            return 1;
        }

        return Math.Pow(0.5, age / options.HalfLife);
    }

    public double EngagementFactor(Engagement? metrics) => EngagementFactor(metrics?.Total ?? 0);

    /// <summary>The factor for a post with <paramref name="interactions"/> likes, reposts, replies and quotes.</summary>
    public double EngagementFactor(long interactions)
    {
        if (interactions <= 0)
        {
            return 1;
        }

        // log-scaled and capped: 10 interactions ≈ +2%, 100k interactions = the full weight.
        return 1 + options.EngagementWeight * Math.Min(1, Math.Log10(1 + interactions) / 5);
    }

    private static SearchHit[] Collapse(List<SearchHit> ranked, int k)
    {
        var result = new List<SearchHit>(k);
        var byHash = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var hit in ranked)
        {
            // One story (near-duplicates: a word changed, a template, one headline from many accounts), else one exact text.
            var key = hit.Post.ClusterId ?? hit.Post.ContentHash ?? hit.Post.Id;
            if (byHash.TryGetValue(key, out var index))
            {
                result[index] = result[index] with { Duplicates = result[index].Duplicates + 1 };
                continue;
            }

            if (result.Count == k)
            {
                continue; // still counting duplicates of what is already in
            }

            byHash[key] = result.Count;
            result.Add(hit);
        }

        return [.. result];
    }
}
