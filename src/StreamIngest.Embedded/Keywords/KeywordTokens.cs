using System.Globalization;
using System.Text;
using Lucene.Net.Tartarus.Snowball;
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
/// <para>
/// Stemming follows the post's language: English and posts of no stated or detected language get the Porter stem,
/// as above; a language with a Snowball stemmer in Lucene.Net (Spanish, German, French, Portuguese, Italian, Dutch,
/// Swedish, Russian, Turkish, Catalan and others) gets that stemmer, applied before the diacritics are folded, and
/// its terms carry the language (<c>es:inund</c>), so one language's stems never meet another's; any other language
/// (Japanese, Korean, Polish, Arabic…) is not stemmed. A query's language is not known (a few words say too little),
/// so <see cref="QueryForms"/> looks each query word up in every form: its Porter stem, the word itself, and each
/// Snowball language's stem.
/// </para>
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

    /// <summary>
    /// Languages stemmed with their own Snowball stemmer (ISO 639-1 code → stemmer). English is not here: it keeps the
    /// Porter stem every unlabelled post gets.
    /// </summary>
    private static readonly Dictionary<string, Func<SnowballProgram>> Snowball = new(StringComparer.Ordinal)
    {
        ["ca"] = () => new CatalanStemmer(), ["da"] = () => new DanishStemmer(), ["de"] = () => new GermanStemmer(),
        ["es"] = () => new SpanishStemmer(), ["eu"] = () => new BasqueStemmer(), ["fi"] = () => new FinnishStemmer(),
        ["fr"] = () => new FrenchStemmer(), ["ga"] = () => new IrishStemmer(), ["hu"] = () => new HungarianStemmer(),
        ["hy"] = () => new ArmenianStemmer(), ["it"] = () => new ItalianStemmer(), ["nl"] = () => new DutchStemmer(),
        ["no"] = () => new NorwegianStemmer(), ["nb"] = () => new NorwegianStemmer(), ["nn"] = () => new NorwegianStemmer(),
        ["pt"] = () => new PortugueseStemmer(), ["ro"] = () => new RomanianStemmer(), ["ru"] = () => new RussianStemmer(),
        ["sv"] = () => new SwedishStemmer(), ["tr"] = () => new TurkishStemmer(),
    };

    /// <summary>Language tags that name no language (BCP 47 <c>und</c>, <c>zxx</c>; X's <c>qme</c>, <c>qht</c>… for media, hashtags, cashtags): Porter, as for no tag.</summary>
    private static readonly HashSet<string> NoLanguage = new(StringComparer.Ordinal) { "", "en", "und", "zxx", "mul", "art", "qam", "qct", "qht", "qme", "qst" };

    [ThreadStatic]
    private static Dictionary<string, SnowballProgram>? t_snowball;

    /// <summary>How a language's words are stemmed: <c>null</c> Porter (English, none stated), <c>""</c> not at all, else the Snowball language's code.</summary>
    public static string? SchemeOf(string? lang)
    {
        if (lang is null)
        {
            return null;
        }

        var dash = lang.AsSpan().IndexOfAny('-', '_');
        var code = (dash < 0 ? lang : lang[..dash]).ToLowerInvariant();
        return NoLanguage.Contains(code) ? null : Snowball.ContainsKey(code) ? code : string.Empty;
    }

    /// <summary>The indexed form of the text, by the post's language (<see cref="SchemeOf"/>): its <see cref="Words"/>, each stemmed as that language is.</summary>
    public static List<string> Tokenize(string text, string? lang = null)
    {
        switch (SchemeOf(lang))
        {
            case null:
                return Words(text).ConvertAll(Stem);
            case "":
                return Words(text);
            case var code:
                var words = Words(text, fold: false);
                for (var i = 0; i < words.Count; i++)
                {
                    words[i] = IsCjk(words[i][0]) ? words[i] : code + ":" + Fold(StemAs(code, words[i]));
                }

                return words;
        }
    }

    /// <summary>
    /// What the keyword index holds for a post: each word as its language indexes it (<see cref="Tokenize"/>) and, where
    /// that is not already it, the word's Porter stem beside it, and the number of words (BM25's document length). The
    /// second form is a fallback for a language wrongly detected: short English posts are often taken for another
    /// language (of 24,596 English crisis tweets in <c>bench relevance</c>, 1,626 were detected as Tagalog), and
    /// without it their words would only be found in the exact form written. A query word's forms count as one term
    /// (<see cref="KeywordIndex"/>), so a post holding both forms of a word is found once.
    /// </summary>
    public static (List<string> Terms, int Words) Index(string text, string? lang)
    {
        var scheme = SchemeOf(lang);
        if (scheme is null)
        {
            var porter = Tokenize(text);
            return (porter, porter.Count);
        }

        var primary = Tokenize(text, lang);
        var terms = new List<string>(primary.Count * 2);
        terms.AddRange(primary);
        foreach (var word in scheme.Length == 0 ? primary : Words(text)) // an unstemmed language's terms are its folded words already
        {
            var stem = Stem(word);
            if (!IsCjk(word[0]) && (scheme.Length > 0 || !string.Equals(stem, word, StringComparison.Ordinal)))
            {
                terms.Add(stem);
            }
        }

        return (terms, primary.Count);
    }

    /// <summary>
    /// Every term a query word (lower-case, accents kept: <see cref="Words"/> with <c>fold: false</c>) may be indexed
    /// as: its Porter stem, the word unstemmed, and its stem in each Snowball language.
    /// </summary>
    public static IEnumerable<string> QueryForms(string word)
    {
        if (IsCjk(word[0]))
        {
            yield return word; // a bigram, indexed as written in every language
            yield break;
        }

        var folded = Fold(word);
        yield return Stem(folded);
        yield return folded;

        foreach (var code in Snowball.Keys)
        {
            yield return code + ":" + Fold(StemAs(code, word));
        }
    }

    /// <summary>The word with its diacritics removed and compatibility forms folded, as the index keeps words ("café" → "cafe").</summary>
    public static string Fold(string word)
    {
        if (Ascii.IsValid(word))
        {
            return word;
        }

        var sb = new StringBuilder(word.Length);
        foreach (var c in word.Normalize(NormalizationForm.FormKD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                sb.Append(char.ToLowerInvariant(c));
            }
        }

        return sb.ToString();
    }

    private static string StemAs(string code, string word)
    {
        if (word.Length < 3)
        {
            return word;
        }

        var stemmers = t_snowball ??= new Dictionary<string, SnowballProgram>(StringComparer.Ordinal);
        if (!stemmers.TryGetValue(code, out var stemmer))
        {
            stemmers[code] = stemmer = Snowball[code]();
        }

        stemmer.SetCurrent(word);
        stemmer.Stem();
        return stemmer.Current;
    }

    /// <summary>
    /// The text's words before stemming (what a stop-word list or an FTS5 query takes). <paramref name="fold"/> false
    /// keeps accented letters as they are written (composed), for a stemmer that reads them.
    /// </summary>
    public static List<string> Words(string text, bool fold = true)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        var form = fold ? NormalizationForm.FormKD : NormalizationForm.FormKC;
        var hasCjk = text.AsSpan().ContainsAnyInRange('\u3040', '\u9FFF') || text.AsSpan().ContainsAnyInRange('\uAC00', '\uD7AF') || text.AsSpan().ContainsAnyInRange('\uF900', '\uFAFF') || text.AsSpan().ContainsAnyInRange('\uFF66', '\uFF9F');
        if (!hasCjk)
        {
            var decomposed = text.IsNormalized(form) ? text : text.Normalize(form);
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
                // Half of a surrogate pair (an emoji beside Japanese text) cannot be normalised alone: it separates words.
                var folded = c < 0x80 || char.IsSurrogate(c) ? null : c.ToString().Normalize(form);
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
