using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace StreamIngest.Host.Chat;

/// <summary>
/// The upstream model, through the official OpenAI .NET client pointed at <see cref="ChatOptions.Endpoint"/>: the
/// grounded body goes out through the client's protocol method, so every parameter the caller sent (tools,
/// response formats, n, logprobs) reaches the upstream as sent, and its answer (tool calls included) comes back as
/// the upstream wrote it. The client's pipeline does authentication, the timeout and retries of 429 and 5xx.
/// </summary>
public sealed class UpstreamChat(IOptions<ChatOptions> options)
{
    private readonly Lazy<ChatClient> _client = new(() =>
    {
        var o = options.Value;
        return new ChatClient(o.Model!, new ApiKeyCredential(string.IsNullOrEmpty(o.ApiKey) ? "not-needed" : o.ApiKey), new OpenAIClientOptions
        {
            Endpoint = o.Endpoint,
            NetworkTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
            RetryPolicy = new ClientRetryPolicy(o.MaxRetries),
        });
    });

    public bool IsConfigured => options.Value.IsConfigured;

    /// <summary>The upstream's <c>chat.completion</c> for <paramref name="body"/> (which names the model).</summary>
    public async Task<JsonObject> CompleteAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var result = await _client.Value.CompleteChatAsync(Content(body), new RequestOptions { CancellationToken = cancellationToken }).ConfigureAwait(false);
        return JsonNode.Parse(result.GetRawResponse().Content.ToMemory().Span) as JsonObject
            ?? throw new InvalidDataException("The upstream answered something other than a JSON object.");
    }

    /// <summary>The upstream's <c>chat.completion.chunk</c> events, in order, up to its <c>[DONE]</c>.</summary>
    public async IAsyncEnumerable<JsonObject> StreamAsync(JsonObject body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var result = await _client.Value.CompleteChatAsync(Content(body), new RequestOptions { CancellationToken = cancellationToken, BufferResponse = false }).ConfigureAwait(false);
        using var response = result.GetRawResponse();
        await using var stream = response.ContentStream ?? throw new InvalidDataException("The upstream sent no stream.");
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Data.Trim() == "[DONE]")
            {
                yield break;
            }

            if (JsonNode.Parse(item.Data) is JsonObject chunk)
            {
                yield return chunk;
            }
        }
    }

    /// <summary>Removes the configured key from text that came from the upstream (an error message may echo it).</summary>
    public string Redact(string text) =>
        string.IsNullOrEmpty(options.Value.ApiKey) ? text : text.Replace(options.Value.ApiKey, "[redacted]", StringComparison.Ordinal);

    private static BinaryContent Content(JsonObject body) => BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
}
