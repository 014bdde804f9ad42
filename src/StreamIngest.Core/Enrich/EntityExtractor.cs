using System.Text.RegularExpressions;
using StreamIngest.Model;

namespace StreamIngest.Enrich;

/// <summary>
/// Finds hashtags, cashtags (tickers), mentions and links in post text. Values are normalised:
/// hashtags and mentions lower-case without their sigil, tickers upper-case (<c>$tsla</c> → <c>TSLA</c>),
/// links canonical. <c>$5</c> or <c>$1.2bn</c> are amounts, not tickers.
/// </summary>
public static partial class EntityExtractor
{
    private const int MatchTimeoutMs = 250;

    [GeneratedRegex(@"(?<![\p{L}\p{N}_&/#])[#＃]([\p{L}\p{M}\p{N}_]{1,100})", RegexOptions.CultureInvariant, MatchTimeoutMs)]
    private static partial Regex HashtagRegex();

    [GeneratedRegex(@"(?<![\p{L}\p{N}_$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\p{L}\p{N}_$])", RegexOptions.CultureInvariant, MatchTimeoutMs)]
    private static partial Regex CashtagRegex();

    [GeneratedRegex(@"(?<![\p{L}\p{N}_.@/])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,62}[A-Za-z0-9_])?)(?:@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+))?", RegexOptions.CultureInvariant, MatchTimeoutMs)]
    private static partial Regex MentionRegex();

    [GeneratedRegex(@"https?://[^\s<>""'\u200B]+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, MatchTimeoutMs)]
    private static partial Regex UrlRegex();

    public static PostEntities Extract(string text)
    {
        try
        {
            return new PostEntities(
                Distinct(HashtagRegex().Matches(text), m => IsHashtag(m.Groups[1].Value) ? m.Groups[1].Value.ToLowerInvariant() : null),
                Distinct(CashtagRegex().Matches(text), m => m.Groups[1].Value.ToUpperInvariant()),
                Distinct(MentionRegex().Matches(text), m => m.Groups[2].Success
                    ? $"{m.Groups[1].Value}@{m.Groups[2].Value}".ToLowerInvariant()
                    : m.Groups[1].Value.TrimEnd('.', '-').ToLowerInvariant()),
                Distinct(UrlRegex().Matches(text), m => UrlCanonicalizer.Canonicalize(TrimUrl(m.Value))));
        }
        catch (RegexMatchTimeoutException)
        {
            // Pathological input: keep the post, without entities, rather than stall the worker.
            return PostEntities.Empty;
        }
    }

    /// <summary>Union of entities given by the source and those found in the text, normalised and de-duplicated.</summary>
    public static PostEntities Merge(PostEntities given, PostEntities found) => new(
        Union(given.Hashtags.Select(h => h.TrimStart('#').ToLowerInvariant()), found.Hashtags),
        Union(given.Cashtags.Select(c => c.TrimStart('$').ToUpperInvariant()), found.Cashtags),
        Union(given.Mentions.Select(m => m.TrimStart('@').ToLowerInvariant()), found.Mentions),
        Union(given.Urls.Select(UrlCanonicalizer.Canonicalize).OfType<string>(), found.Urls));

    private static bool IsHashtag(string tag)
    {
        // "#1" or "#2024" are numbers, not hashtags.
        foreach (var c in tag)
        {
            if (char.IsLetter(c))
            {
                return true;
            }
        }

        return false;
    }

    private static string TrimUrl(string url)
    {
        var end = url.Length;
        while (end > 0)
        {
            var c = url[end - 1];
            if (c is '.' or ',' or ';' or ':' or '!' or '?' or '\'' or '"' or ']' or '}' or '…')
            {
                end--;
            }
            else if (c == ')' && url.AsSpan(0, end).Count('(') < url.AsSpan(0, end).Count(')'))
            {
                end--;
            }
            else
            {
                break;
            }
        }

        return url[..end];
    }

    private static string[] Distinct(MatchCollection matches, Func<Match, string?> select)
    {
        if (matches.Count == 0)
        {
            return [];
        }

        var seen = new List<string>(matches.Count);
        foreach (Match m in matches)
        {
            var v = select(m);
            if (!string.IsNullOrEmpty(v) && !seen.Contains(v, StringComparer.Ordinal))
            {
                seen.Add(v);
            }
        }

        return [.. seen];
    }

    private static string[] Union(IEnumerable<string> a, IEnumerable<string> b) =>
        [.. a.Concat(b).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal)];
}
