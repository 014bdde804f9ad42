using System.ComponentModel.DataAnnotations;

namespace StreamIngest.Host.Chat;

/// <summary>
/// The upstream model <c>/v1/chat/completions</c> forwards grounded prompts to: any OpenAI-compatible endpoint
/// (OpenAI, Azure OpenAI's v1 API, xAI Grok, a local server). Without <see cref="Endpoint"/> and
/// <see cref="Model"/> the endpoint answers 503 naming these keys. The key is never logged or returned.
/// </summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>The model name that always means <see cref="Model"/>, whatever it is configured to.</summary>
    public const string DefaultAlias = "streamingest";

    /// <summary>Base URL of the upstream API, e.g. <c>https://api.openai.com/v1</c> or <c>https://api.x.ai/v1</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The upstream model used when a request names none (or names <see cref="DefaultAlias"/>), e.g. <c>gpt-4.1-mini</c>.</summary>
    public string? Model { get; set; }

    /// <summary>
    /// Further upstream models a request may pick by its <c>model</c> field. <c>GET /v1/models</c> lists these,
    /// <see cref="Model"/> and <see cref="DefaultAlias"/>; a request naming any other model is refused with 404
    /// <c>model_not_found</c>, so callers cannot spend the key on models nobody chose.
    /// </summary>
    public string[] AllowedModels { get; set; } = [];

    /// <summary>The upstream API key (from configuration, user secrets or the environment: <c>Chat__ApiKey</c>).</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one upstream attempt may take before the caller gets 504.</summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary>Attempts after the first when the upstream answers 429 or 5xx (the OpenAI client's own retry policy).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Characters one message may carry (system messages included).</summary>
    [Range(1, 10_000_000)]
    public int MaxMessageChars { get; set; } = 64_000;

    /// <summary>Characters the whole conversation may carry, tool calls included.</summary>
    [Range(1, 100_000_000)]
    public int MaxConversationChars { get; set; } = 256_000;

    public bool IsConfigured => Endpoint is not null && !string.IsNullOrWhiteSpace(Model);

    /// <summary>The models a request may name, the default first.</summary>
    public IReadOnlyList<string> Models() =>
        IsConfigured ? [.. new[] { Model!, DefaultAlias }.Concat(AllowedModels).Distinct(StringComparer.Ordinal)] : [];

    /// <summary>The upstream model a request's <c>model</c> field selects; null when it names one that is not offered.</summary>
    public string? Resolve(string? requested) =>
        requested is null || requested == DefaultAlias || requested == Model ? Model
        : AllowedModels.Contains(requested, StringComparer.Ordinal) ? requested
        : null;
}
