using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Ground;

/// <summary>Counts tokens the way the target model family does (or close to it).</summary>
public interface ITokenCounter
{
    int Count(string text);
}

public sealed record GroundRequest
{
    public required string Question { get; init; }
    public required SearchQuery Search { get; init; }

    /// <summary>Token budget for the whole prompt (system + posts + question).</summary>
    public int MaxTokens { get; init; } = 3000;

    /// <summary>Leave out posts whose safety labels have the <c>exclude</c> action (the default); false includes them, labels and all.</summary>
    public bool ExcludeUnsafe { get; init; } = true;
}

/// <summary>A retrieved post left out of the prompt, and why.</summary>
public sealed record ExcludedPost(string Id, string Reason, IReadOnlyList<SafetyLabel> Labels);

public sealed record Citation(
    int N,
    string Id,
    string Source,
    string Author,
    DateTimeOffset CreatedAt,
    string? Url,
    double Score,
    string ContentSha256);

public sealed record Freshness(
    DateTimeOffset? Newest,
    DateTimeOffset? Oldest,
    int CandidatesConsidered,
    int Retrieved,
    int Included,
    int DroppedForBudget,
    DateTimeOffset GeneratedAt);

public sealed record PromptMessage(string Role, string Content);

public sealed record GroundedPrompt(
    string System,
    string Context,
    string Question,
    IReadOnlyList<PromptMessage> Messages,
    IReadOnlyList<Citation> Citations,
    Freshness Freshness,
    int Tokens,
    int MaxTokens,
    IReadOnlyList<ExcludedPost> Excluded,
    Abstention? Abstention = null);
