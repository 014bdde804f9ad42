using System.ClientModel;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace StreamIngest.Host.Chat;

/// <summary>What is sent upstream: the grounded conversation and the caller's generation settings.</summary>
public sealed record UpstreamRequest(IReadOnlyList<ChatMessage> Messages, string? Model, int? MaxOutputTokens, float? Temperature);

/// <summary>
/// The upstream model, through the official OpenAI .NET client pointed at <see cref="ChatOptions.Endpoint"/>:
/// one client per model name, created on first use.
/// </summary>
public sealed class UpstreamChat(IOptions<ChatOptions> options)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ChatClient> _clients = new(StringComparer.Ordinal);

    public bool IsConfigured => options.Value.IsConfigured;

    public async Task<ChatCompletion> CompleteAsync(UpstreamRequest request, CancellationToken cancellationToken) =>
        (await Client(request.Model).CompleteChatAsync(request.Messages, Options(request), cancellationToken).ConfigureAwait(false)).Value;

    public IAsyncEnumerable<StreamingChatCompletionUpdate> StreamAsync(UpstreamRequest request, CancellationToken cancellationToken) =>
        Client(request.Model).CompleteChatStreamingAsync(request.Messages, Options(request), cancellationToken);

    private static ChatCompletionOptions Options(UpstreamRequest request)
    {
        var o = new ChatCompletionOptions();
        if (request.MaxOutputTokens is { } max)
        {
            o.MaxOutputTokenCount = max;
        }

        if (request.Temperature is { } t)
        {
            o.Temperature = t;
        }

        return o;
    }

    private ChatClient Client(string? model)
    {
        var o = options.Value;
        var name = model is not null && o.AllowedModels.Contains(model, StringComparer.Ordinal) ? model : o.Model!;
        return _clients.GetOrAdd(name, n => new ChatClient(
            n,
            new ApiKeyCredential(string.IsNullOrEmpty(o.ApiKey) ? "not-needed" : o.ApiKey),
            new OpenAIClientOptions { Endpoint = o.Endpoint }));
    }
}
