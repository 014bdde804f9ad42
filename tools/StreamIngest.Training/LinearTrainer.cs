using StreamIngest.Enrich.Signals;

namespace StreamIngest.Training;

/// <summary>
/// Fits linear heads on fixed embeddings: softmax regression with class-balanced weights and L2 (Adam,
/// full batch), and ridge regression for scores. Small, deterministic, and fast enough for tens of
/// thousands of posts on two cores.
/// </summary>
public static class LinearTrainer
{
    /// <param name="buckets">Optional sparse features per example (<see cref="SentimentNgrams.Buckets"/>), read after the dense ones.</param>
    /// <param name="bits">The bucket count is 2^bits.</param>
    public static LinearHead Softmax(IReadOnlyList<float[]> x, IReadOnlyList<int> y, string[] classes, double l2 = 1e-4, int epochs = 400, double rate = 0.05, IReadOnlyList<int[]>? buckets = null, int bits = 0)
    {
        int n = x.Count, d = x[0].Length + (buckets is null ? 0 : 1 << bits), dense = x[0].Length, k = classes.Length;
        var counts = new double[k];
        foreach (var label in y)
        {
            counts[label]++;
        }

        var classWeight = counts.Select(c => c == 0 ? 0 : n / (k * c)).ToArray();
        var w = new double[k, d];
        var b = new double[k];
        var adam = new Adam(k * d + k, rate);
        var grad = new double[k * d + k];
        var p = new double[k];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            Array.Clear(grad);
            for (var i = 0; i < n; i++)
            {
                var xi = x[i];
                var bi = buckets?[i] ?? [];
                var bv = SentimentNgrams.Weight(bi.Length);
                var max = double.MinValue;
                for (var c = 0; c < k; c++)
                {
                    var z = b[c];
                    for (var j = 0; j < dense; j++)
                    {
                        z += w[c, j] * xi[j];
                    }

                    foreach (var j in bi)
                    {
                        z += w[c, dense + j] * bv;
                    }

                    p[c] = z;
                    max = Math.Max(max, z);
                }

                var sum = 0.0;
                for (var c = 0; c < k; c++)
                {
                    p[c] = Math.Exp(p[c] - max);
                    sum += p[c];
                }

                var cw = classWeight[y[i]] / n;
                for (var c = 0; c < k; c++)
                {
                    var g = (p[c] / sum - (c == y[i] ? 1 : 0)) * cw;
                    for (var j = 0; j < dense; j++)
                    {
                        grad[c * d + j] += g * xi[j];
                    }

                    foreach (var j in bi)
                    {
                        grad[c * d + dense + j] += g * bv;
                    }

                    grad[k * d + c] += g;
                }
            }

            for (var c = 0; c < k; c++)
            {
                for (var j = 0; j < d; j++)
                {
                    grad[c * d + j] += l2 * w[c, j];
                }
            }

            adam.Step(grad, (idx, delta) =>
            {
                if (idx < k * d)
                {
                    w[idx / d, idx % d] -= delta;
                }
                else
                {
                    b[idx - k * d] -= delta;
                }
            });
        }

        return new LinearHead
        {
            Classes = classes,
            Weights = [.. Enumerable.Range(0, k).Select(c => Enumerable.Range(0, dense).Select(j => (float)w[c, j]).ToArray())],
            Bias = [.. b.Select(v => (float)v)],
            BucketBits = buckets is null ? 0 : bits,
            BucketWeights = buckets is null ? null : [.. Enumerable.Range(0, k).Select(c => Enumerable.Range(dense, d - dense).Select(j => (float)w[c, j]).ToArray())],
        };
    }

    /// <summary>A two-class softmax as one logistic row: P(positive) = σ((w1 − w0)·x + b1 − b0).</summary>
    public static LinearHead Binary(IReadOnlyList<float[]> x, IReadOnlyList<bool> y, string positive, double l2 = 1e-4, int epochs = 400)
    {
        var two = Softmax(x, [.. y.Select(v => v ? 1 : 0)], ["not_" + positive, positive], l2, epochs);
        return new LinearHead
        {
            Classes = [positive],
            Weights = [[.. two.Weights[1].Zip(two.Weights[0], (a, b) => a - b)]],
            Bias = [two.Bias[1] - two.Bias[0]],
        };
    }

    public static LinearHead Ridge(IReadOnlyList<float[]> x, IReadOnlyList<double> y, double l2 = 1e-3, int epochs = 600, double rate = 0.02)
    {
        int n = x.Count, d = x[0].Length;
        var w = new double[d];
        var b = 0.0;
        var adam = new Adam(d + 1, rate);
        var grad = new double[d + 1];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            Array.Clear(grad);
            for (var i = 0; i < n; i++)
            {
                var z = b;
                for (var j = 0; j < d; j++)
                {
                    z += w[j] * x[i][j];
                }

                var g = (z - y[i]) / n;
                for (var j = 0; j < d; j++)
                {
                    grad[j] += g * x[i][j];
                }

                grad[d] += g;
            }

            for (var j = 0; j < d; j++)
            {
                grad[j] += l2 * w[j];
            }

            adam.Step(grad, (idx, delta) =>
            {
                if (idx < d)
                {
                    w[idx] -= delta;
                }
                else
                {
                    b -= delta;
                }
            });
        }

        return new LinearHead { Classes = ["score"], Weights = [[.. w.Select(v => (float)v)]], Bias = [(float)b] };
    }

    private sealed class Adam(int size, double rate)
    {
        private readonly double[] _m = new double[size];
        private readonly double[] _v = new double[size];
        private int _t;

        public void Step(double[] grad, Action<int, double> apply)
        {
            _t++;
            const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
            var c1 = 1 - Math.Pow(b1, _t);
            var c2 = 1 - Math.Pow(b2, _t);
            for (var i = 0; i < grad.Length; i++)
            {
                _m[i] = b1 * _m[i] + (1 - b1) * grad[i];
                _v[i] = b2 * _v[i] + (1 - b2) * grad[i] * grad[i];
                apply(i, rate * (_m[i] / c1) / (Math.Sqrt(_v[i] / c2) + eps));
            }
        }
    }
}
