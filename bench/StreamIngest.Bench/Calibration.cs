namespace StreamIngest.Bench;

/// <summary>Platt scaling (a logistic map from one score to a probability), and how well such a map is calibrated.</summary>
internal static class Calibration
{
    /// <summary>Slope and intercept of P(relevant) = σ(slope·score + intercept), by Newton's method on the log-likelihood.</summary>
    public static (double Slope, double Intercept) FitLogistic(IReadOnlyList<(double Score, bool Relevant)> data)
    {
        double a = 0, b = 0;
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
            foreach (var (x, y) in data)
            {
                var p = Sigmoid(a * x + b);
                var r = (y ? 1 : 0) - p;
                ga += r * x;
                gb += r;
                var w = Math.Max(p * (1 - p), 1e-9);
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }

            var det = haa * hbb - hab * hab;
            if (Math.Abs(det) < 1e-12)
            {
                break;
            }

            var da = (hbb * ga - hab * gb) / det;
            var db = (haa * gb - hab * ga) / det;
            a += da;
            b += db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-9)
            {
                break;
            }
        }

        return (a, b);
    }

    public static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>Expected calibration error over ten equal-width bands of the estimate: Σ (n_b / N)·|precision_b − mean estimate_b|.</summary>
    public static double Ece(IReadOnlyList<(double Score, bool Relevant)> data, double slope, double intercept) =>
        Math.Round(Bands(data, slope, intercept).Sum(b => b.Results * Math.Abs(b.Precision - b.MeanRelevance)) / Math.Max(1, data.Count), 4);

    public static IReadOnlyList<RelevanceBench.Band> Bands(IReadOnlyList<(double Score, bool Relevant)> data, double slope, double intercept) =>
        [.. data.Select(d => (P: Sigmoid(slope * d.Score + intercept), d.Relevant))
            .GroupBy(d => Math.Min(9, (int)(d.P * 10)))
            .OrderBy(g => g.Key)
            .Select(g => new RelevanceBench.Band(g.Key / 10.0, (g.Key + 1) / 10.0, g.Count(), Math.Round(g.Average(d => d.P), 4), Math.Round(g.Average(d => d.Relevant ? 1.0 : 0.0), 4)))];
}
