using System.Globalization;
using System.Numerics.Tensors;

namespace StreamIngest.Bench;

/// <summary>
/// Synthetic posts for the query and peers benches: clustered 384-d vectors and Zipf-skewed words, each post a pure
/// function of its number, so exact ground truth can be recomputed by streaming instead of held in memory. Posts
/// arrive as a stream does: in time order over the 48 h held, each up to 10 minutes late or early.
/// </summary>
internal sealed class SyntheticCorpus
{
    public const int Dims = 384;

    public SyntheticCorpus(int posts, DateTimeOffset now)
    {
        Posts = posts;
        Now = now;
        Clusters = Math.Max(50, posts / 500);
        Centers = [.. Enumerable.Range(0, Clusters).Select(c => Normalize(Gaussian(new Random(1_000_000 + c), 1f)))];
    }

    public int Posts { get; }

    public int Clusters { get; }

    public DateTimeOffset Now { get; }

    private float[][] Centers { get; }

    /// <summary>Post i's text (two of its cluster's topic words, ten common words) and time (its share of the 48 h).</summary>
    public (string Text, DateTimeOffset CreatedAt) TextAndTime(int i)
    {
        var c = i % Clusters;
        var rng = new Random(i);
        var words = new List<string> { Topic(c, rng.Next(4)), Topic(c, rng.Next(4)) };
        for (var w = 0; w < 10; w++)
        {
            words.Add(Word((int)(2000 * Math.Pow(rng.NextDouble(), 3)))); // skewed: a few common words
        }

        return (string.Join(' ', words), Now.AddHours(-47.5).AddSeconds(47 * 3600.0 * i / Posts + rng.Next(-600, 601)));
    }

    /// <summary>Post i's vector: its cluster centre plus seeded noise.</summary>
    public float[] Vector(int i) => Normalize(Add(Centers[i % Clusters], Gaussian(new Random(i), 0.06f)));

    /// <summary>Question q: near one cluster's centre, asking for two of its topic words and one other word.</summary>
    public (string Text, float[] Vector) Question(int q)
    {
        var rng = new Random(7_000_000 + q);
        var c = rng.Next(Clusters);
        var v = Normalize(Add(Centers[c], Gaussian(new Random(5_000_000 + q), 0.05f)));
        return ($"{Topic(c, 0)} {Topic(c, 1)} {Word(rng.Next(2000))}", v);
    }

    private static string Topic(int cluster, int k) => string.Create(CultureInfo.InvariantCulture, $"topic{cluster}x{k}");

    private static string Word(int k) => string.Create(CultureInfo.InvariantCulture, $"w{k}");

    private static float[] Gaussian(Random rng, float sigma)
    {
        var v = new float[Dims];
        for (var d = 0; d < Dims; d++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            v[d] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)) * sigma;
        }

        return v;
    }

    private static float[] Add(float[] a, float[] b)
    {
        var r = new float[a.Length];
        TensorPrimitives.Add(a, b, r);
        return r;
    }

    private static float[] Normalize(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }
}
