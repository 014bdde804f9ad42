namespace StreamIngest.Host.Chat;

/// <summary>
/// The upstream model <c>/v1/chat/completions</c> forwards grounded prompts to: any OpenAI-compatible endpoint
/// (OpenAI, Azure OpenAI's v1 API, xAI Grok, a local server). Without <see cref="Endpoint"/> and
/// <see cref="Model"/> the endpoint answers 503 naming these keys. The key is never logged or returned.
/// </summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>Base URL of the upstream API, e.g. <c>https://api.openai.com/v1</c> or <c>https://api.x.ai/v1</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The upstream model used when a request names none, e.g. <c>gpt-4.1-mini</c> or <c>grok-3-mini</c>.</summary>
    public string? Model { get; set; }

    /// <summary>
    /// Upstream models a request may pick by its <c>model</c> field; any other name (the OpenAI clients always send
    /// one) gets <see cref="Model"/>, so callers cannot spend the key on models nobody chose.
    /// </summary>
    public string[] AllowedModels { get; set; } = [];

    /// <summary>The upstream API key (from configuration, user secrets or the environment: <c>Chat__ApiKey</c>).</summary>
    public string? ApiKey { get; set; }

    public bool IsConfigured => Endpoint is not null && !string.IsNullOrWhiteSpace(Model);
}
