using StreamIngest.Enrich.Safety;
using StreamIngest.Model;

namespace StreamIngest.Enrich.Signals;

/// <summary>
/// Sentiment, finance sentiment per ticker, and the offensive and hate labels, from linear heads on the post's
/// embedding (<see cref="SignalModel"/>, trained by <c>train signals</c>; the sentiment head also reads a small
/// lexicon and the post's hashed words): a few thousand multiply-adds per post.
/// Labels follow <see cref="SafetyOptions"/>: <c>allow</c> leaves them off, <c>drop</c> rejects the post.
/// </summary>
public sealed class SignalEnricher(SignalModel model, SafetyOptions safety) : ISignalEnricher
{
    public SignalModel Model => model;

    public string? Enrich(Post post)
    {
        if (post.Embedding is not { } x)
        {
            return null;
        }

        var p = model.Sentiment.Probabilities(model.SentimentReadsLexicon ? SentimentLexicon.Concat(x, post.Text) : x, post.Text);
        var best = Array.IndexOf(p, p.Max());
        // The finance head reads the whole post, so every ticker in it gets the same score: computed once.
        Dictionary<string, double>? tickers = null;
        if (post.Entities.Cashtags.Count > 0)
        {
            var finance = Math.Round(model.Finance.Value(x), 3);
            tickers = post.Entities.Cashtags.Distinct(StringComparer.Ordinal).ToDictionary(t => t, _ => finance, StringComparer.Ordinal);
        }

        post.Sentiment = new PostSentiment(model.Sentiment.Classes[best], Math.Round(p[^1] - p[0], 3), tickers);

        var labels = post.SafetyLabels.Where(l => l.Label is not (SafetyOptions.Offensive or SafetyOptions.Hate)).ToList();
        foreach (var (name, head) in new[] { (SafetyOptions.Offensive, model.Offensive), (SafetyOptions.Hate, model.Hate) })
        {
            var action = safety.ActionFor(name);
            var score = head.Probability(x);
            if (action == SafetyAction.Allow || score < head.Threshold)
            {
                continue;
            }

            if (action == SafetyAction.Drop)
            {
                return $"{name} {score:F2}; dropped by policy {SafetyOptions.Section}:Policies:{name}=drop";
            }

            labels.Add(new SafetyLabel(name, Math.Round(score, 3)));
        }

        post.SafetyLabels = labels;
        return null;
    }
}
