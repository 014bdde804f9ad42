using System.Text;

namespace StreamIngest.Enrich;

/// <summary>Unicode normalisation and clean-up applied to every post's text.</summary>
public static class TextNormalizer
{
    /// <summary>NFC, control characters (but newlines and tabs) removed, runs of blank lines collapsed, trimmed.</summary>
    public static string Normalize(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }

        // string.Normalize throws on lone surrogates; replace them first so hostile input cannot crash a worker.
        var cleaned = ReplaceInvalidSurrogatesAndControls(text);
        if (!cleaned.IsNormalized(NormalizationForm.FormC))
        {
            cleaned = cleaned.Normalize(NormalizationForm.FormC);
        }

        return CollapseBlankLines(cleaned).Trim();
    }

    /// <summary>The form used for duplicate detection: compatibility-normalised, lower-cased, whitespace collapsed.</summary>
    public static string FoldForComparison(string text)
    {
        var folded = ReplaceInvalidSurrogatesAndControls(text).Normalize(NormalizationForm.FormKC).ToLowerInvariant();
        var sb = new StringBuilder(folded.Length);
        var space = false;
        foreach (var c in folded)
        {
            if (char.IsWhiteSpace(c))
            {
                space = sb.Length > 0;
                continue;
            }

            if (space)
            {
                sb.Append(' ');
                space = false;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static string ReplaceInvalidSurrogatesAndControls(string text)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? replacement = null;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                replacement = "\uFFFD";
            }
            else if (c == '\r')
            {
                replacement = i + 1 < text.Length && text[i + 1] == '\n' ? string.Empty : "\n";
            }
            else if (char.IsControl(c) && c != '\n' && c != '\t')
            {
                replacement = string.Empty;
            }
            else if (c is '\u200B' or '\u2060' or '\uFEFF' or '\u202A' or '\u202B' or '\u202C' or '\u202D' or '\u202E' or '\u2066' or '\u2067' or '\u2068' or '\u2069')
            {
                // Zero-width and bidi-override characters: invisible, and used to hide text from readers.
                replacement = string.Empty;
            }

            if (replacement is null)
            {
                sb?.Append(c);
                continue;
            }

            sb ??= new StringBuilder(text.Length).Append(text, 0, i);
            sb.Append(replacement);
        }

        return sb?.ToString() ?? text;
    }

    private static string CollapseBlankLines(string text)
    {
        if (!text.Contains("\n\n\n", StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        var newlines = 0;
        foreach (var c in text)
        {
            newlines = c == '\n' ? newlines + 1 : 0;
            if (newlines <= 2)
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
