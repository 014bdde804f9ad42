namespace StreamIngest.Enrich.Safety;

/// <summary>Configuration <c>Safety</c>: an action per label. Default: injection excluded from prompts, offensive and hate flagged.</summary>
public sealed class SafetyOptions
{
    public const string Section = "Safety";

    public const string PromptInjection = "prompt_injection";
    public const string Offensive = "offensive";
    public const string Hate = "hate";

    public Dictionary<string, SafetyAction> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [PromptInjection] = SafetyAction.Exclude,
        [Offensive] = SafetyAction.Flag,
        [Hate] = SafetyAction.Flag,
    };

    public SafetyAction ActionFor(string label) => Policies.TryGetValue(label, out var action) ? action : SafetyAction.Flag;

    public IEnumerable<string> Validate()
    {
        foreach (var label in Policies.Keys)
        {
            if (label is not (PromptInjection or Offensive or Hate))
            {
                yield return $"{Section}:Policies:{label}: unknown label; the labels are '{PromptInjection}', '{Offensive}' and '{Hate}'.";
            }
        }
    }
}
