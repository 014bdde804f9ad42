using System.Text;

namespace StreamIngest.Enrich;

/// <summary>
/// Canonical form of a link so the same article shared with different tracking tails counts as one:
/// http(s) only, scheme and host lower-case, default port and fragment dropped, tracking parameters
/// (<c>utm_*</c>, <c>fbclid</c>, <c>gclid</c>, …) removed, other parameters kept in their order.
/// </summary>
public static class UrlCanonicalizer
{
    private static readonly HashSet<string> TrackingParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "igsh", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "si", "spm", "vero_id", "oly_enc_id", "oly_anon_id", "rb_clickid",
        "s_cid", "cmpid", "ncid", "sr_share", "__twitter_impression",
    };

    /// <summary>Returns the canonical URL, or null when <paramref name="url"/> is not an absolute http(s) URL.</summary>
    public static string? Canonicalize(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri))
        {
            return null;
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }

        var sb = new StringBuilder(url.Length);
        sb.Append(uri.Scheme).Append("://").Append(uri.IdnHost.ToLowerInvariant());
        if (!uri.IsDefaultPort)
        {
            sb.Append(':').Append(uri.Port);
        }

        sb.Append(uri.AbsolutePath);
        var query = uri.Query;
        if (query.Length > 1)
        {
            var kept = 0;
            foreach (var pair in query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                if (IsTracking(name))
                {
                    continue;
                }

                sb.Append(kept++ == 0 ? '?' : '&').Append(pair);
            }
        }

        return sb.ToString();
    }

    private static bool IsTracking(string name) =>
        name.StartsWith("utm_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("pk_", StringComparison.OrdinalIgnoreCase)
        || TrackingParameters.Contains(name);
}
