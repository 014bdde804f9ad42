using Lingua;
using StreamIngest.Model;

namespace StreamIngest.Enrich;

/// <summary>
/// Fills <see cref="Post.Lang"/> when the source gave none: Lingua (SearchPioneer.Lingua, n-gram models, offline)
/// over the languages most posted on the platforms we read, in its low-accuracy mode (trigrams only: fast and
/// small, and short posts are what it is built for). Below <see cref="MinConfidence"/> the language is
/// <c>und</c> (undetermined), as BCP 47 says, rather than a guess. Runs after <see cref="StandardEnricher"/>,
/// on clean text; a language the source stated is never overridden.
/// </summary>
public sealed partial class LanguageEnricher : IEnricher
{
    public const string Undetermined = "und";

    /// <summary>The languages detected: the most used on Bluesky, X and Mastodon.</summary>
    public static readonly Language[] Languages =
    [
        Language.English, Language.Japanese, Language.Portuguese, Language.Spanish, Language.German, Language.French,
        Language.Korean, Language.Italian, Language.Dutch, Language.Turkish, Language.Arabic, Language.Russian,
        Language.Chinese, Language.Indonesian, Language.Polish, Language.Thai, Language.Hindi, Language.Persian,
        Language.Ukrainian, Language.Swedish, Language.Catalan, Language.Tagalog,
    ];

    /// <summary>The ISO 639-1 codes of <see cref="Languages"/>.</summary>
    public static readonly IReadOnlySet<string> Codes = Languages.Select(l => l.IsoCode6391().ToString().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);

    private readonly LanguageDetector _detector;

    public LanguageEnricher(double minConfidence = 0.5)
    {
        MinConfidence = minConfidence;
        _detector = LanguageDetectorBuilder.FromLanguages(Languages).WithLowAccuracyMode().Build();
    }

    public double MinConfidence { get; }

    public string? Enrich(Post post)
    {
        if (post.Lang is null)
        {
            post.Lang = Detect(post.Text);
        }

        return null;
    }

    /// <summary>The ISO 639-1 code of the text's language, or <c>und</c> when no language is confident enough.</summary>
    public string Detect(string text)
    {
        // Links, @handles, a retweet prefix and the '#' of hashtags are not words of any language: leave them out.
        var words = Noise().Replace(text, " ").Trim();
        if (words.Count(char.IsLetter) < 3)
        {
            return Undetermined;
        }

        var best = _detector.ComputeLanguageConfidenceValues(words).MaxBy(kv => kv.Value);
        return best.Value >= MinConfidence ? best.Key.IsoCode6391().ToString().ToLowerInvariant() : Undetermined;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"https?://\S+|www\.\S+|(?<!\w)@[\w.]+(?::)?|^RT\b|(?<!\w)#|(?<!\w)\$[A-Za-z]{1,6}\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex Noise();
}
