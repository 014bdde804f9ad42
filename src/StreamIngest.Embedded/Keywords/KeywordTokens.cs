using System.Globalization;
using System.Text;
using Lucene.Net.Tartarus.Snowball.Ext;

namespace StreamIngest.Embedded.Keywords;

/// <summary>
/// Words as the keyword index and keyword queries see them, as FTS5's default unicode61 tokenizer makes them (so both
/// keyword paths score alike): runs of letters and digits, lower-cased, with diacritics removed ("Café" and "cafe" are
/// one word); everything else separates words (<c>_</c>, hashtag and cashtag signs, punctuation, emoji). Words longer
/// than <see cref="MaxLength"/> are dropped. Each word is reduced to its Porter stem, as the store's FTS5 table
/// (<c>porter unicode61</c>) does ("flooding", "floods" and "flooded" are "flood"), with the Snowball implementation of
/// the original Porter algorithm from Lucene.Net.
/// </summary>
public static class KeywordTokens
{
    public const int MaxLength = 64;

    [ThreadStatic]
    private static PorterStemmer? t_stemmer;

    /// <summary>The Porter stem of a lower-case word; words under three letters are kept whole, as SQLite's porter tokenizer keeps them.</summary>
    public static string Stem(string word)
    {
        if (word.Length < 3)
        {
            return word;
        }

        var stemmer = t_stemmer ??= new PorterStemmer();
        stemmer.SetCurrent(word);
        stemmer.Stem();
        return stemmer.Current;
    }

    /// <summary>The indexed form of the text: its <see cref="Words"/>, each stemmed.</summary>
    public static List<string> Tokenize(string text) => Words(text).ConvertAll(Stem);

    /// <summary>The text's words before stemming (what a stop-word list or an FTS5 query takes).</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var decomposed = text.IsNormalized(NormalizationForm.FormKD) ? text : text.Normalize(NormalizationForm.FormKD);
        var sb = new StringBuilder();
        foreach (var c in decomposed)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                Flush();
            }
        }

        Flush();
        return words;

        void Flush()
        {
            if (sb.Length is > 0 and <= MaxLength)
            {
                words.Add(sb.ToString());
            }

            sb.Clear();
        }
    }
}
