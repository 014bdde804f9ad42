using System.Net;
using System.Text;

namespace StreamIngest.Enrich;

/// <summary>
/// Converts post HTML (Mastodon statuses, RSS summaries) to plain text. A single linear pass with no
/// regular expressions, so hostile markup cannot make it backtrack; script and style contents are dropped,
/// block elements become line breaks and entities are decoded once.
/// </summary>
public static class HtmlText
{
    private static readonly HashSet<string> BlockTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "br", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "hr",
    };

    private static readonly HashSet<string> DroppedContentTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "template", "noscript", "iframe", "object", "svg", "head",
    };

    /// <summary>True when the text carries markup worth converting (a tag or an entity).</summary>
    public static bool LooksLikeHtml(string text) =>
        text.Contains('<', StringComparison.Ordinal) && text.Contains('>', StringComparison.Ordinal)
        || text.Contains("&", StringComparison.Ordinal) && text.Contains(';', StringComparison.Ordinal);

    public static string ToPlainText(string html)
    {
        var sb = new StringBuilder(html.Length);
        var i = 0;
        string? dropUntil = null;
        while (i < html.Length)
        {
            var c = html[i];
            if (c != '<')
            {
                if (dropUntil is null)
                {
                    sb.Append(c);
                }

                i++;
                continue;
            }

            if (html.AsSpan(i).StartsWith("<!--", StringComparison.Ordinal))
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }

            var close = html.IndexOf('>', i + 1);
            if (close < 0)
            {
                // A lone '<' that opens no tag is text ("a < b").
                if (dropUntil is null)
                {
                    sb.Append(c);
                }

                i++;
                continue;
            }

            var (name, isEnd) = ReadTagName(html.AsSpan(i + 1, close - i - 1));
            if (name.Length == 0)
            {
                // Not a tag ("<3", "a < b > c"): keep the '<' as text and go on after it.
                if (dropUntil is null)
                {
                    sb.Append(c);
                }

                i++;
                continue;
            }

            i = close + 1;

            if (dropUntil is not null)
            {
                if (isEnd && name.Equals(dropUntil, StringComparison.OrdinalIgnoreCase))
                {
                    dropUntil = null;
                }

                continue;
            }

            if (!isEnd && DroppedContentTags.Contains(name))
            {
                dropUntil = name;
                continue;
            }

            if (BlockTags.Contains(name) && sb.Length > 0 && sb[^1] != '\n')
            {
                sb.Append('\n');
            }
        }

        return WebUtility.HtmlDecode(sb.ToString()).Replace('\u00A0', ' ');
    }

    private static (string Name, bool IsEnd) ReadTagName(ReadOnlySpan<char> inner)
    {
        var isEnd = inner.Length > 0 && inner[0] == '/';
        if (isEnd)
        {
            inner = inner[1..];
        }

        var len = 0;
        while (len < inner.Length && (char.IsAsciiLetterOrDigit(inner[len]) || inner[len] == '-'))
        {
            len++;
        }

        return (len == 0 || !char.IsAsciiLetter(inner[0]) ? string.Empty : inner[..len].ToString(), isEnd);
    }
}
