using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace StreamIngest.Enrich;

/// <summary>
/// Hash of what a post says, for exact-duplicate and repost collapse: links, a leading "RT @user:"
/// and case/whitespace/compatibility differences do not change it.
/// </summary>
public static partial class ContentHash
{
    [GeneratedRegex(@"https?://\S+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, 250)]
    private static partial Regex UrlRegex();

    [GeneratedRegex(@"^rt @[\w.\-]+:\s*", RegexOptions.CultureInvariant, 250)]
    private static partial Regex RetweetPrefixRegex();

    public static string Compute(string text)
    {
        var folded = TextNormalizer.FoldForComparison(text);
        try
        {
            folded = RetweetPrefixRegex().Replace(UrlRegex().Replace(folded, " "), string.Empty);
        }
        catch (RegexMatchTimeoutException)
        {
            // Keep the plain folded text; the hash is still deterministic.
        }

        folded = TextNormalizer.FoldForComparison(folded);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(folded), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>SHA-256 of a raw payload, for provenance.</summary>
    public static string OfRaw(ReadOnlySpan<byte> raw) => Convert.ToHexStringLower(SHA256.HashData(raw));

    public static string OfRaw(string raw) => OfRaw(Encoding.UTF8.GetBytes(raw));
}
