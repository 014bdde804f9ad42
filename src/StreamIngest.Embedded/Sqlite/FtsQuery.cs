using System.Text;

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

    public static string? Build(string text)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        foreach (var c in text.Normalize(NormalizationForm.FormKC))
        {
            if (char.IsLetterOrDigit(c) || c == '_')
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                Flush();
            }
        }

        Flush();
        var terms = words.Where(w => !StopWords.Contains(w)).Distinct(StringComparer.Ordinal).Take(MaxTerms).ToList();
        if (terms.Count == 0)
        {
            terms = [.. words.Distinct(StringComparer.Ordinal).Take(MaxTerms)];
        }

        return terms.Count == 0 ? null : string.Join(" OR ", terms.Select(t => $"\"{t}\""));

        void Flush()
        {
            if (sb.Length > 0)
            {
                words.Add(sb.ToString());
                sb.Clear();
            }
        }
    }
}
