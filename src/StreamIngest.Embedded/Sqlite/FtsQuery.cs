using System.Collections.Concurrent;
using StreamIngest.Embedded.Keywords;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// Turns user text into a safe FTS5 query: words only (every FTS5 operator and quote stripped), each as a
/// quoted term, OR-ed so BM25 ranks posts by how many and how rare the matching words are. Common English
/// stop words are dropped unless nothing else is left.
/// </summary>
public static class FtsQuery
{
    private const int MaxTerms = 16;

    /// <summary>
    /// English function words, and the scaffolding of a question ("how many … have been … so far?", "what are
    /// people saying about …", "is there any …", "tell me …"): words that say what kind of answer is wanted, not
    /// what it is about, and that match most posts. What is left is the subject: names, places, hashtags, rare terms.
    /// </summary>
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how", "i", "in", "is", "it",
        "its", "of", "on", "or", "that", "the", "their", "there", "this", "to", "was", "were", "what", "when", "where",
        "which", "who", "why", "will", "with", "you", "about", "happening", "going", "any", "do", "does", "did", "so",
        // question scaffolding and other function words
        "am", "been", "being", "had", "can", "could", "should", "would", "may", "might", "must", "shall", "whom", "whose",
        "these", "those", "they", "them", "we", "us", "our", "your", "he", "she", "his", "her", "him", "me", "my", "if",
        "than", "then", "into", "onto", "over", "after", "before", "since", "until", "during", "far", "yet", "still",
        "also", "just", "very", "much", "many", "more", "most", "some", "anyone", "anything", "someone", "something",
        "tell", "know", "say", "saying", "said", "says", "get", "got", "given", "give", "show", "find", "latest", "right",
        "now", "currently", "here", "please",
    };

    /// <summary>The query's subject words (<see cref="KeywordTokens.Words"/>): stop words dropped unless nothing else is left, at most 16.</summary>
    public static IReadOnlyList<string> Words(string text) => Subject(KeywordTokens.Words(text), static w => w);

    /// <summary>The words that are not stop words (each compared in its folded form), each once, at most 16; all of them when none is left.</summary>
    private static List<string> Subject(List<string> words, Func<string, string> folded)
    {
        var subject = words.Where(w => !StopWords.Contains(folded(w))).Distinct(StringComparer.Ordinal).Take(MaxTerms).ToList();
        return subject.Count > 0 ? subject : [.. words.Distinct(StringComparer.Ordinal).Take(MaxTerms)];
    }

    /// <summary>
    /// The subject words as the in-memory keyword index may hold them, each word once with all its forms: the question's
    /// language is not known, so each word is looked up as every language's stemmer would have indexed it
    /// (<see cref="KeywordTokens.QueryForms"/>), the forms of one word counting as one term.
    /// </summary>
    public static IReadOnlyList<string[]> Terms(string text)
    {
        return [.. Subject(KeywordTokens.Words(text, fold: false), KeywordTokens.Fold)
            .Select(FormsOf)
            .DistinctBy(forms => forms[0], StringComparer.Ordinal)];
    }

    /// <summary>
    /// Most words a process remembers the forms of. Working them out stems the word once per Snowball language (about
    /// 20 µs a word); questions reuse a small vocabulary, and a full cache is simply emptied.
    /// </summary>
    private const int MaxCachedWords = 50_000;

    private static readonly ConcurrentDictionary<string, string[]> Forms = new(StringComparer.Ordinal);

    private static string[] FormsOf(string word)
    {
        if (Forms.TryGetValue(word, out var forms))
        {
            return forms;
        }

        if (Forms.Count >= MaxCachedWords)
        {
            Forms.Clear();
        }

        forms = [.. KeywordTokens.QueryForms(word).Distinct(StringComparer.Ordinal)];
        Forms.TryAdd(word, forms);
        return forms;
    }

    /// <summary>The FTS5 MATCH expression for <see cref="Words"/> (FTS5 stems them itself): each a quoted term, OR-ed; null when there are none.</summary>
    public static string? Build(string text)
    {
        var words = Words(text);
        return words.Count == 0 ? null : string.Join(" OR ", words.Select(t => $"\"{t}\""));
    }
}
