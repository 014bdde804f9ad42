using System.Text.Json.Nodes;

namespace StreamIngest.Host.Chat;

/// <summary>One message of the caller's conversation: its role, its text (for retrieval and limits) and its JSON as sent.</summary>
public sealed record ChatTurn(string Role, string Text, JsonObject Json);

/// <summary>
/// A <c>/v1/chat/completions</c> body after <see cref="ChatRequestReader"/> checked every field's type and range:
/// the conversation, the index of the user turn retrieval answers, the generation parameters to forward as sent,
/// and the <c>streamingest</c> extension object (the filters of <c>/v1/ground</c>).
/// </summary>
public sealed record ChatRequest(
    string? Model,
    IReadOnlyList<ChatTurn> Messages,
    int QuestionIndex,
    bool Stream,
    bool IncludeUsage,
    JsonObject Forward,
    JsonNode? Extension)
{
    public ChatTurn Question => Messages[QuestionIndex];
}
