using System.Text.RegularExpressions;
using StreamIngest.Model;

namespace StreamIngest.Enrich.Signals;

/// <summary>
/// Gives posts that say the same thing one <see cref="Post.ClusterId"/>: retweets with a word changed, template
/// variants, one headline from several accounts or platforms. MinHash over word 3-shingles (links, handles and a
/// retweet prefix left out) with locality-sensitive hashing (16 bands of 4) finds earlier posts of the last
/// <see cref="Window"/> whose estimated Jaccard similarity is at least <see cref="MinSimilarity"/>; the post joins
/// the best one's story, or starts its own (id = its own post id). Exact copies join their original's story.
/// Memory is bounded by the window and <see cref="MaxRemembered"/>; after a restart <see cref="WarmAsync"/> reads
/// the window's stored posts back, so new posts keep joining the stories they belong to.
/// </summary>
public sealed partial class StoryClusterer(TimeProvider timeProvider) : ISignalEnricher
{
    public const int Hashes = 64;
    public const int Bands = 16;
    public const int Rows = Hashes / Bands;
    public const double MinSimilarity = 0.5;
    public const int MaxRemembered = 200_000;
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    private static readonly ulong[] Seeds = [.. Enumerable.Range(1, Hashes).Select(i => Mix((ulong)i * 0x9E3779B97F4A7C15UL))];

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, List<Remembered>> _bands = [];
    private readonly Dictionary<string, string> _clusterOfPost = new(StringComparer.Ordinal);
    private readonly Queue<Remembered> _order = new();

    private sealed record Remembered(string PostId, string ClusterId, ulong[] Signature, ulong[] BandKeys, DateTimeOffset At);

    public string? Enrich(Post post)
    {
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            Forget(now);
            if (post.DuplicateOf is { } original && _clusterOfPost.TryGetValue(original, out var originalCluster))
            {
                post.ClusterId = originalCluster;
                return null;
            }

            var signature = Signature(post.Text);
            if (signature is null)
            {
                post.ClusterId = post.Id;
                return null;
            }

            var keys = BandKeys(signature);
            Remembered? best = null;
            var bestSimilarity = 0.0;
            foreach (var key in keys)
            {
                if (!_bands.TryGetValue(key, out var list))
                {
                    continue;
                }

                foreach (var candidate in list)
                {
                    if (candidate.PostId == post.Id)
                    {
                        continue;
                    }

                    var similarity = Similarity(signature, candidate.Signature);
                    if (similarity > bestSimilarity)
                    {
                        (best, bestSimilarity) = (candidate, similarity);
                    }
                }
            }

            post.ClusterId = best is not null && bestSimilarity >= MinSimilarity ? best.ClusterId : _clusterOfPost.GetValueOrDefault(post.Id, post.Id);
            Remember(new Remembered(post.Id, post.ClusterId, signature, keys, now));
            return null;
        }
    }

    /// <summary>Remembers the stored posts of the last <see cref="Window"/> with their story ids (after a restart). Returns how many.</summary>
    public async Task<int> WarmAsync(Store.IPostReader reader, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var posts = await reader.ListRecentAsync(now - Window, now, MaxRemembered, cancellationToken).ConfigureAwait(false);
        var remembered = 0;
        lock (_gate)
        {
            foreach (var p in posts.OrderBy(p => p.CreatedAt))
            {
                if (p.ClusterId is null || _clusterOfPost.ContainsKey(p.Id) || Signature(p.Text) is not { } signature)
                {
                    continue;
                }

                Remember(new Remembered(p.Id, p.ClusterId, signature, BandKeys(signature), p.CreatedAt));
                remembered++;
            }
        }

        return remembered;
    }

    /// <summary>Estimated Jaccard similarity of two 3-shingle sets: the share of agreeing MinHash values.</summary>
    private static double Similarity(ulong[] a, ulong[] b)
    {
        var same = 0;
        for (var i = 0; i < Hashes; i++)
        {
            if (a[i] == b[i])
            {
                same++;
            }
        }

        return same / (double)Hashes;
    }

    private void Remember(Remembered r)
    {
        _clusterOfPost[r.PostId] = r.ClusterId;
        foreach (var key in r.BandKeys)
        {
            if (!_bands.TryGetValue(key, out var list))
            {
                _bands[key] = list = [];
            }

            list.Add(r);
        }

        _order.Enqueue(r);
    }

    private void Forget(DateTimeOffset now)
    {
        while (_order.TryPeek(out var oldest) && (oldest.At < now - Window || _order.Count > MaxRemembered))
        {
            _order.Dequeue();
            _clusterOfPost.Remove(oldest.PostId);
            foreach (var key in oldest.BandKeys)
            {
                if (_bands.TryGetValue(key, out var list))
                {
                    list.Remove(oldest);
                    if (list.Count == 0)
                    {
                        _bands.Remove(key);
                    }
                }
            }
        }
    }

    private static ulong[]? Signature(string text)
    {
        var words = Words().Matches(Noise().Replace(text.ToLowerInvariant(), " ")).Select(m => m.Value).ToList();
        if (words.Count == 0)
        {
            return null;
        }

        var shingles = words.Count < 3
            ? words.Select(w => Hash(w)).ToList()
            : Enumerable.Range(0, words.Count - 2).Select(i => Hash(words[i] + " " + words[i + 1] + " " + words[i + 2])).ToList();
        var signature = new ulong[Hashes];
        Array.Fill(signature, ulong.MaxValue);
        foreach (var s in shingles)
        {
            for (var i = 0; i < Hashes; i++)
            {
                var h = Mix(s ^ Seeds[i]);
                if (h < signature[i])
                {
                    signature[i] = h;
                }
            }
        }

        return signature;
    }

    private static ulong[] BandKeys(ulong[] signature)
    {
        var keys = new ulong[Bands];
        for (var b = 0; b < Bands; b++)
        {
            var h = (ulong)b * 0x9E3779B97F4A7C15UL;
            for (var r = 0; r < Rows; r++)
            {
                h = Mix(h ^ signature[(b * Rows) + r]);
            }

            keys[b] = h;
        }

        return keys;
    }

    /// <summary>FNV-1a over the UTF-16 code units: stable across processes (string.GetHashCode is not).</summary>
    private static ulong Hash(string s)
    {
        var h = 14695981039346656037UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }

    /// <summary>SplitMix64 finaliser.</summary>
    private static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    [GeneratedRegex(@"https?://\S+|www\.\S+|^rt\s+@\S+|(?<!\w)@[\w.]+|[#$]", RegexOptions.CultureInvariant)]
    private static partial Regex Noise();

    [GeneratedRegex(@"[\p{L}\p{N}']+", RegexOptions.CultureInvariant)]
    private static partial Regex Words();
}
