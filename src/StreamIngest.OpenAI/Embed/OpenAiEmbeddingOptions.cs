using System.ComponentModel.DataAnnotations;

namespace StreamIngest.OpenAI.Embed;

/// <summary>
/// <c>Embedding:OpenAI</c>: embeddings from Azure OpenAI (<c>https://RESOURCE.openai.azure.com/openai/v1/</c>, the v1
/// API the OpenAI client speaks), OpenAI, or any OpenAI-compatible server, when <c>Embedding:Provider</c> is <c>openai</c>.
/// </summary>
public sealed class OpenAiEmbeddingOptions
{
    public const string Section = "Embedding:OpenAI";

    /// <summary>The API's base address, ending in <c>/v1</c>: e.g. <c>https://api.openai.com/v1</c> or <c>https://RESOURCE.openai.azure.com/openai/v1</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The model (OpenAI) or deployment name (Azure OpenAI).</summary>
    public string Model { get; set; } = "text-embedding-3-small";

    /// <summary>Vector length asked for (<c>dimensions</c>); text-embedding-3 models shorten their vectors to it.</summary>
    [Range(1, 4096)]
    public int Dimensions { get; set; } = 384;

    /// <summary>Send <c>dimensions</c> with each request; turn off for a model that has one fixed length (ada-002) or a server that refuses it.</summary>
    public bool SendDimensions { get; set; } = true;

    /// <summary>An API key (secret: configuration or environment only, never logged). Without one, <c>DefaultAzureCredential</c> gets a token for <see cref="TokenScope"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Entra ID scope for Azure OpenAI tokens (https://learn.microsoft.com/azure/foundry/openai/supported-languages).</summary>
    public string TokenScope { get; set; } = "https://ai.azure.com/.default";

    /// <summary>Posts per request.</summary>
    [Range(1, 2048)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Requests in flight at once for one batch of posts.</summary>
    [Range(1, 32)]
    public int Concurrency { get; set; } = 2;

    /// <summary>Inputs longer than this many tokens (cl100k_base, the text-embedding-3 tokenizer) are cut to it first; 8,191 is those models' limit.</summary>
    [Range(16, 1_000_000)]
    public int MaxInputTokens { get; set; } = 8191;

    /// <summary>Retries of one request after 429 (waiting what <c>Retry-After</c> asks), 5xx, a timeout or a refused connection.</summary>
    [Range(0, 20)]
    public int MaxRetries { get; set; } = 6;

    /// <summary>Longest wait between retries, whatever <c>Retry-After</c> asks.</summary>
    [Range(0.1, 600)]
    public double MaxRetryDelaySeconds { get; set; } = 60;

    /// <summary>One request's time limit.</summary>
    [Range(1, 600)]
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>Price in USD per million input tokens, for the cost shown in /v1/stats and /metrics (text-embedding-3-small: 0.02).</summary>
    [Range(0, 1000)]
    public double PricePerMillionTokens { get; set; } = 0.02;

    public IEnumerable<string> Validate()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            yield return $"{Section}:Endpoint must be the API's absolute http(s) address ending in /v1 (got '{Endpoint}').";
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            yield return $"{Section}:Model must name the model or deployment.";
        }

        if (MaxDimensionsOf(Model) is { } max && Dimensions > max)
        {
            yield return $"{Section}:Dimensions must be at most {max} for {Model} (got {Dimensions}).";
        }

        if (Model.Contains("ada-002", StringComparison.OrdinalIgnoreCase) && (Dimensions != 1536 || SendDimensions))
        {
            yield return $"{Section}: {Model} has one length: set Dimensions=1536 and SendDimensions=false.";
        }
    }

    /// <summary>The longest vector a known OpenAI model offers, or null for a model this service does not know.</summary>
    public static int? MaxDimensionsOf(string model) => model.ToLowerInvariant() switch
    {
        var m when m.Contains("text-embedding-3-large", StringComparison.Ordinal) => 3072,
        var m when m.Contains("text-embedding-3-small", StringComparison.Ordinal) => 1536,
        var m when m.Contains("ada-002", StringComparison.Ordinal) => 1536,
        _ => null,
    };
}
