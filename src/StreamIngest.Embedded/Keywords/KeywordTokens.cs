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
/// Chinese, Japanese and Korean are written without spaces between words, so a run of their characters is one
/// "word" to unicode61 and no query word ever matches inside it. Those runs become overlapping bigrams instead
/// (東京で大雨 → 東京, 京で, で大, 大雨; a lone character stays a unigram), the scheme of Lucene's CJKBigramFilter: a
/// two-character query word such as 地震 or 大雨 is then a term of every post that contains it, and a longer one is
/// the conjunction of its bigrams. CJK characters are taken as written (no compatibility decomposition, which would
/// split Hangul syllables into jamo and strip kana voicing marks).
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
        var sb = new StringBuilder();
        var hasCjk = text.AsSpan().ContainsAnyInRange('\u3040', '\u9FFF') || text.AsSpan().ContainsAnyInRange('\uAC00', '\uD7AF') || text.AsSpan().ContainsAnyInRange('\uF900', '\uFAFF') || text.AsSpan().ContainsAnyInRange('\uFF66', '\uFF9F');
        if (!hasCjk)
        {
            var decomposed = text.IsNormalized(NormalizationForm.FormKD) ? text : text.Normalize(NormalizationForm.FormKD);
            foreach (var c in decomposed)
            {
                Add(c);
            }
        }
        else
        {
            var cjkRun = new StringBuilder();
            foreach (var c in text)
            {
                if (IsCjk(c))
                {
                    Flush();
                    cjkRun.Append(c);
                    continue;
                }

                Bigrams(cjkRun, words);
                var folded = c < 0x80 ? null : c.ToString().Normalize(NormalizationForm.FormKD);
                if (folded is null)
                {
                    Add(c);
                }
                else
                {
                    foreach (var d in folded)
                    {
                        Add(d);
                    }
                }
            }

            Bigrams(cjkRun, words);
        }

        Flush();
        return words;

        void Add(char c)
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

        void Flush()
        {
            if (sb.Length is > 0 and <= MaxLength)
            {
                words.Add(sb.ToString());
            }

            sb.Clear();
        }
    }

    /// <summary>Han ideographs, kana and Hangul syllables: scripts written without spaces between words (Korean with some).</summary>
    public static bool IsCjk(char c) =>
        c is (>= '\u3040' and <= '\u30FF') // hiragana, katakana
            or (>= '\u3400' and <= '\u4DBF') // CJK extension A
            or (>= '\u4E00' and <= '\u9FFF') // CJK unified ideographs
            or (>= '\uAC00' and <= '\uD7AF') // Hangul syllables
            or (>= '\uF900' and <= '\uFAFF') // CJK compatibility ideographs
            or (>= '\uFF66' and <= '\uFF9F'); // half-width katakana

    /// <summary>Appends the run's overlapping bigrams (a one-character run as itself) and empties it.</summary>
    private static void Bigrams(StringBuilder run, List<string> words)
    {
        if (run.Length == 1)
        {
            words.Add(run.ToString());
        }

        for (var i = 0; i + 1 < run.Length; i++)
        {
            words.Add(string.Create(2, (run[i], run[i + 1]), static (span, pair) => (span[0], span[1]) = pair));
        }

        run.Clear();
    }
}
