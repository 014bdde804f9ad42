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
public sealed class RelevanceFloor(IRetriever inner, double minVectorScore, TimeProvider timeProvider) : IRetriever
{
    /// <summary>The floor fitted for a packaged embedding model (docs/decisions/0007); 0 (off) for one not fitted here.</summary>
    public static double DefaultFor(string embeddingModel) => embeddingModel switch
    {
        "sentence-transformers/all-MiniLM-L6-v2" => 0.2,
        _ => 0,
    };

    public async Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        var result = await inner.SearchAsync(query, cancellationToken).ConfigureAwait(false);
        if (query.Mode == SearchMode.Keyword || minVectorScore <= 0)
        {
            return result;
        }

        var kept = result.Hits.Where(Clears).ToList();
        if (kept.Count > 0)
        {
            return kept.Count == result.Hits.Count ? result : result with { Hits = kept };
        }

        DateTimeOffset? newest = null;
        if (query.Since is not null || query.Until is not null)
        {
            var wider = await inner.SearchAsync(query with { Since = null, Until = null, K = Math.Max(query.K, 10) }, cancellationToken).ConfigureAwait(false);
            newest = wider.Hits.Where(Clears).Select(h => (DateTimeOffset?)h.Post.CreatedAt).Max();
        }

        return result with { Hits = [], Abstention = new Abstention(Describe(newest, query, timeProvider.GetUtcNow()), newest) };
    }

    /// <summary>
    /// Close enough in meaning; or containing the question's words and at least half as close (short questions score
    /// low cosines even on their own topic, while a post that shares a word by chance, "caused" in a helicopter crash
    /// for a derailment question, stays far below); or, without a vector, found by its words.
    /// </summary>
    private bool Clears(SearchHit hit) => hit.Score.Vector is { } v
        ? v >= minVectorScore || (hit.Score.Keyword is > 0 && v >= minVectorScore / 2)
        : hit.Score.Keyword is > 0;

    private static string Describe(DateTimeOffset? newest, SearchQuery query, DateTimeOffset now)
    {
        var scope = query.Since is null && query.Until is null ? "No stored post" : "No post in the searched window";
        if (newest is not { } at)
        {
            return $"{scope} is about this question.";
        }

        var age = now - at;
        var ago = age.TotalDays >= 2 ? $"{Math.Floor(age.TotalDays).ToString(CultureInfo.InvariantCulture)} days"
            : age.TotalHours >= 2 ? $"{Math.Floor(age.TotalHours).ToString(CultureInfo.InvariantCulture)} hours"
            : $"{Math.Max(1, Math.Floor(age.TotalMinutes)).ToString(CultureInfo.InvariantCulture)} minutes";
        return $"{scope} is about this question; the newest matching post is {ago} old ({at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}).";
    }
}
