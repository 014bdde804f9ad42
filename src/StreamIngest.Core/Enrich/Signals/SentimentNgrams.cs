using System.Text.RegularExpressions;

namespace StreamIngest.Enrich.Signals;

/// <summary>
/// The words and word pairs of a post hashed into a fixed number of buckets (the "hashing trick"): sparse
/// features the sentiment head reads beside the embedding, so that it can learn which words and phrases carry
/// polarity ("not bad", "can't wait") from the training tweets. Lower-cased; links become <c>http</c> and
/// mentions <c>@user</c>; emoji and runs of <c>!</c>/<c>?</c> are tokens. FNV-1a, so buckets are the same in
/// every process and on every machine.
/// </summary>
public static partial class SentimentNgrams
{
    [GeneratedRegex(@"https?://\S+|@\w+|[\p{L}\p{N}']+|[!?]+|\p{So}|\p{Cs}{2}|[:;]-?[()DPp]", RegexOptions.CultureInvariant)]
    private static partial Regex Tokens();

    /// <summary>The distinct buckets (ascending) of the post's words and adjacent word pairs, each worth 1/√count.</summary>
    public static int[] Buckets(string text, int bits)
    {
        var mask = (1 << bits) - 1;
        var buckets = new HashSet<int>();
        uint previous = 0;
        var first = true;
        foreach (Match m in Tokens().Matches(text))
        {
            var token = m.Value switch
            {
                var v when v.StartsWith("http", StringComparison.OrdinalIgnoreCase) && v.Contains("://", StringComparison.Ordinal) => "http",
                var v when v[0] == '@' => "@user",
                var v when v[0] is '!' or '?' => v.Length > 1 ? v[..2] : v,
                var v => v.ToLowerInvariant(),
            };
            var h = Fnv(token, 2166136261);
            buckets.Add((int)(h & mask));
            if (!first)
            {
                buckets.Add((int)(Fnv(token, previous * 16777619 ^ 0x9e3779b9) & mask));
            }

            previous = h;
            first = false;
        }

        var result = buckets.ToArray();
        Array.Sort(result);
        return result;
    }

    /// <summary>The value each present bucket carries: the bucket vector has unit length.</summary>
    public static float Weight(int count) => count == 0 ? 0 : 1 / MathF.Sqrt(count);

    private static uint Fnv(string s, uint seed)
    {
        var h = seed;
        foreach (var c in s)
        {
            h = (h ^ c) * 16777619;
        }

        return h;
    }
}
