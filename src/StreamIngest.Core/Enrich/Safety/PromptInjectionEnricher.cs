using StreamIngest.Model;

namespace StreamIngest.Enrich.Safety;

/// <summary>
/// Labels text aimed at a model (<see cref="PromptInjectionDetector"/>) on the raw text, before HTML and
/// Unicode clean-up remove the hidden parts that give it away; so it runs before <see cref="StandardEnricher"/>.
/// With the <c>drop</c> policy the post is rejected (dead-lettered with the score and evidence as the reason).
/// </summary>
public sealed class PromptInjectionEnricher(SafetyOptions options) : IEnricher
{
    public string? Enrich(Post post)
    {
        var action = options.ActionFor(SafetyOptions.PromptInjection);
        if (action == SafetyAction.Allow)
        {
            return null;
        }

        var (score, signals) = PromptInjectionDetector.Score(post.Text);
        if (score < PromptInjectionDetector.Threshold)
        {
            return null;
        }

        var evidence = signals.Select(s => $"{s.Kind}: {s.Evidence}").ToList();
        if (action == SafetyAction.Drop)
        {
            return $"prompt_injection {score:F2} ({string.Join("; ", evidence)}); dropped by policy {SafetyOptions.Section}:Policies:{SafetyOptions.PromptInjection}=drop";
        }

        post.SafetyLabels = [.. post.SafetyLabels.Where(l => l.Label != SafetyOptions.PromptInjection), new SafetyLabel(SafetyOptions.PromptInjection, score, evidence)];
        return null;
    }
}
