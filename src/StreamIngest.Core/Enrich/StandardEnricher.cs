using StreamIngest.Model;

namespace StreamIngest.Enrich;

/// <summary>
/// First enrichment pass: HTML to text, Unicode normalisation, size limits, entities (source-given
/// merged with those found in the text), canonical URLs, language tag and content hash.
/// </summary>
public sealed class StandardEnricher(int maxTextChars = StandardEnricher.DefaultMaxTextChars) : IEnricher
{
    public const int DefaultMaxTextChars = 10_000;

    public string? Enrich(Post post)
    {
        // Checked on the raw text too, so a hostile multi-megabyte payload is not normalised at all.
        if (post.Text.Length > maxTextChars * 4)
        {
            return $"text is {post.Text.Length} chars, over the limit of {maxTextChars}";
        }

        var text = HtmlText.LooksLikeHtml(post.Text) ? HtmlText.ToPlainText(post.Text) : post.Text;
        text = TextNormalizer.Normalize(text);
        if (text.Length == 0)
        {
            return "text is empty after normalisation";
        }

        if (text.Length > maxTextChars)
        {
            return $"text is {text.Length} chars, over the limit of {maxTextChars}";
        }

        post.Text = text;
        post.Entities = EntityExtractor.Merge(post.Entities, EntityExtractor.Extract(text));
        post.Url = UrlCanonicalizer.Canonicalize(post.Url) ?? post.Url;
        post.Lang = NormalizeLang(post.Lang);
        post.ContentHash = ContentHash.Compute(text);
        return null;
    }

    private static string? NormalizeLang(string? lang)
    {
        if (string.IsNullOrWhiteSpace(lang) || lang is "und" or "zxx" or "qme" or "qht" or "qam")
        {
            return null;
        }

        // BCP-47 primary subtag, lower-case: "en-US" → "en".
        var dash = lang.IndexOfAny(['-', '_']);
        return (dash > 0 ? lang[..dash] : lang).Trim().ToLowerInvariant();
    }
}
