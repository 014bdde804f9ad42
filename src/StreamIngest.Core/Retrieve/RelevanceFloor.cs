using System.Globalization;

namespace StreamIngest.Retrieve;

/// <summary>
/// The relevance floor every surface (search, ground, chat, MCP, watches' previews) goes through: a result whose
/// vector similarity to the question is below <paramref name="minVectorScore"/> is not about the question, however
/// it ranks among what the window holds, and is dropped. When none is left the result abstains and, if the search had
/// a time window, says when the newest post outside it that does clear the floor was made, so a caller can widen the
/// window knowingly. A hit the keyword list found (it contains the question's words) needs half the floor. Keyword
/// searches (<see cref="SearchMode.Keyword"/>) are literal and pass as they are.
/// The default for grounding is set per embedding model from <c>bench relevance</c>'s floor grid (docs/decisions/0007).
/// </summary>
public sealed partial class RelevanceFloor(IRetriever inner, double minVectorScore, TimeProvider timeProvider) : IRetriever
{
    /// <summary>
    /// The least estimated relevance (<see cref="ScoreParts.Relevance"/>, calibrated per model) a hit with an estimate
    /// must have, on top of the cosine floor; 0: none. A question's shared word ("train" in "Follow Train") can lift a
    /// cosine over the floor; the estimate, which reads cosine and keyword match together, stays near 0 for it.
    /// </summary>
    public double MinEstimate { get; init; }

    /// <summary>
    /// The least estimated relevance grounding asks for by default: low, because on vague questions the estimate runs low
    /// for posts that are about them too (the demo's flood posts 0.014–0.26 for "What is happening with the floods?"),
    /// yet above what a shared word earns ("Follow Train" against a train derailment question: 0.0127). On the bench
    /// it leaves P@10 as it is and lifts abstention (docs/decisions/0009).
    /// </summary>
    public const double DefaultMinEstimate = 0.02;

    /// <summary>
    /// Longer questions (a turn of pasted notes ending in the question) are past what the embedder reads whole, so their
    /// estimate says little, and the names in the notes are not what is asked: only the cosine floor applies to them.
    /// </summary>
    public const int MaxEstimatedQuestionChars = 400;

    /// <summary>The floor fitted for a packaged embedding model (docs/decisions/0007); 0 (off) for one not fitted here.</summary>
    public static double DefaultFor(string embeddingModel) => embeddingModel switch
    {
        "sentence-transformers/all-MiniLM-L6-v2" => 0.2,
        // Arctic's cosines sit higher: 0.5 is where its relevance estimate equals MiniLM's at 0.2 (P@10 unchanged, decision 0009).
        "Snowflake/snowflake-arctic-embed-xs" => 0.5,
        _ => 0,
    };

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var result = await inner.SearchAsync(query, cancellationToken).ConfigureAwait(false);
        if (query.Mode == SearchMode.Keyword || (minVectorScore <= 0 && MinEstimate <= 0))
        {
            return result;
        }

        var readWhole = query.Text.Length <= MaxEstimatedQuestionChars;
        var names = readWhole ? NamesIn(query.Text) : [];
        var minEstimate = readWhole ? MinEstimate : 0;
        bool Clears(SearchHit hit) => ClearsFloor(hit, minEstimate);
        var kept = result.Hits.Where(Clears).ToList();
        var missing = Unmentioned(names, kept);
        if (kept.Count > 0 && missing is null)
        {
            return kept.Count == result.Hits.Count ? result : result with { Hits = kept };
        }

        DateTimeOffset? newest = null;
        if (query.Since is not null || query.Until is not null)
        {
            var wider = await inner.SearchAsync(query with { Since = null, Until = null, K = Math.Max(query.K, 10) }, cancellationToken).ConfigureAwait(false);
            var clearing = wider.Hits.Where(Clears).ToList();
            newest = Unmentioned(names, clearing) is null
                ? clearing.Where(h => names.Count == 0 || names.Any(n => Mentions(h, n))).Select(h => (DateTimeOffset?)h.Post.CreatedAt).Max()
                : null;
        }

        return result with { Hits = [], Abstention = new Abstention(Describe(newest, query, timeProvider.GetUtcNow(), kept.Count > 0 ? missing : null), newest) };
    }

    /// <summary>
    /// The names a question asks about: capitalised words that do not start a sentence ("Nepal", "Hurricane Odile") and
    /// words in capitals ("MERS", "NVDA"). A sentence embedding weighs them lightly, so an earthquake question about one
    /// country finds posts about another's; a question is not answered by posts that never mention what it names.
    /// </summary>
    public static IReadOnlyList<string> NamesIn(string question)
    {
        var names = new List<string>();
        foreach (System.Text.RegularExpressions.Match m in Words().Matches(question))
        {
            var word = m.Value;
            var before = m.Index - 1;
            while (before >= 0 && char.IsWhiteSpace(question[before]) && question[before] != '\n')
            {
                before--;
            }

            var sentenceStart = before < 0 || question[before] is '.' or '?' or '!' or ':' or '"' or '\n';
            var capitals = word.Length >= 2 && word.All(c => !char.IsLetter(c) || char.IsUpper(c)) && word.Any(char.IsLetter);
            if (capitals || (!sentenceStart && char.IsUpper(word[0]) && word.Length >= 2 && word.Skip(1).Any(char.IsLower)))
            {
                names.Add(word);
            }
        }

        return names.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\p{L}[\p{L}\p{N}'’-]*")]
    private static partial System.Text.RegularExpressions.Regex Words();

    /// <summary>The first name no hit mentions, or null when each is mentioned by at least one (or there are none).</summary>
    private static string? Unmentioned(IReadOnlyList<string> names, List<SearchHit> hits) =>
        names.FirstOrDefault(n => !hits.Any(h => Mentions(h, n)));

    private static bool Mentions(SearchHit hit, string name) => hit.Post.Text.Contains(name, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Close enough in meaning; or containing the question's words and at least half as close (short questions score
    /// low cosines even on their own topic, while a post that shares a word by chance, "caused" in a helicopter crash
    /// for a derailment question, stays far below); or, without a vector, found by its words.
    /// </summary>
    private bool ClearsFloor(SearchHit hit, double minEstimate) => hit.Score.Relevance is { } estimate && estimate < minEstimate
        ? false
        : hit.Score.Vector is { } v
            ? v >= minVectorScore || (hit.Score.Keyword is > 0 && v >= minVectorScore / 2)
            : hit.Score.Keyword is > 0;

    private static string Describe(DateTimeOffset? newest, SearchQuery query, DateTimeOffset now, string? unmentioned = null)
    {
        var scope = query.Since is null && query.Until is null ? "No stored post" : "No post in the searched window";
        var about = unmentioned is null ? "is about this question" : $"mentions {unmentioned}";
        if (newest is not { } at)
        {
            return $"{scope} {about}.";
        }

        var age = now - at;
        var ago = age.TotalDays >= 2 ? $"{Math.Floor(age.TotalDays).ToString(CultureInfo.InvariantCulture)} days"
            : age.TotalHours >= 2 ? $"{Math.Floor(age.TotalHours).ToString(CultureInfo.InvariantCulture)} hours"
            : $"{Math.Max(1, Math.Floor(age.TotalMinutes)).ToString(CultureInfo.InvariantCulture)} minutes";
        return $"{scope} {about}; the newest matching post is {ago} old ({at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}).";
    }
}
