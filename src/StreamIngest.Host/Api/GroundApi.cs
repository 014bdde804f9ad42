using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using StreamIngest.Ground;

namespace StreamIngest.Host.Api;

/// <summary>The post filters a JSON body may carry (ground, chat's extension object, watches), by their API names.</summary>
public abstract record FilterBody
{
    public string? Source { get; init; }
    public string? Lang { get; init; }
    public string? Entity { get; init; }
    public string? Sentiment { get; init; }

    [JsonPropertyName("min_sentiment")]
    public double? MinSentiment { get; init; }

    [JsonPropertyName("max_sentiment")]
    public double? MaxSentiment { get; init; }

    [JsonPropertyName("min_engagement")]
    public long? MinEngagement { get; init; }

    public string? Author { get; init; }

    [JsonPropertyName("exclude_author")]
    public string? ExcludeAuthor { get; init; }

    public string? Domain { get; init; }

    /// <summary>The signal filters as <see cref="SignalParameters"/>, with <paramref name="safety"/> as the search filter (null: none).</summary>
    public SignalParameters Signals(string? safety) => new(
        Sentiment, Text(MinSentiment), Text(MaxSentiment), safety, MinEngagement?.ToString(System.Globalization.CultureInfo.InvariantCulture), Author, ExcludeAuthor, Domain);

    private static string? Text(double? v) => v?.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record GroundBody : FilterBody
{
    public string? Question { get; init; }
    public string? Window { get; init; }
    public string? Since { get; init; }
    public string? Until { get; init; }
    public int? K { get; init; }
    public string? Mode { get; init; }

    /// <summary><c>exclude</c> (default): posts whose labels have the exclude policy stay out of the prompt; <c>include</c>: they go in, labelled.</summary>
    public string? Safety { get; init; }

    [JsonPropertyName("maxTokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokensSnake { get; init; }
}

public static class GroundApi
{
    public const int MinTokens = 256;
    public const int MaxTokens = 200_000;

    public static IEndpointRouteBuilder MapGroundApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/ground", GroundAsync).WithName("Ground")
            .WithSummary("Build a grounded prompt: system rules, quoted posts with citations, the question")
            .WithDescription("Retrieves the posts that answer `question` (same filters as search), quotes them with numbered citations within `maxTokens`, and reports what it left out and why (e.g. prompt injection). Example body: {\"question\": \"Which streets are flooded in Riverton?\", \"window\": \"PT6H\", \"k\": 8}");
        return app;
    }

    public static async Task<Results<Ok<GroundedPrompt>, ValidationProblem>> GroundAsync(
        GroundBody body, GroundedPromptBuilder builder, TimeProvider timeProvider, CancellationToken cancellationToken, Auth.UsageMeter? usage = null)
    {
        var errors = new Dictionary<string, string[]>();
        var parameters = new SearchParameters(
            body.Question, body.K?.ToString(System.Globalization.CultureInfo.InvariantCulture), body.Mode, body.Window, body.Since, body.Until,
            body.Source, body.Lang, body.Entity, null)
        {
            // In ground, 'safety' is the prompt policy (below), not a search filter.
            Signals = body.Signals(safety: null),
        };
        var query = parameters.Validate(timeProvider.GetUtcNow(), errors, queryName: "question", defaultK: 8);
        var maxTokens = body.MaxTokens ?? body.MaxTokensSnake ?? 3000;
        if (maxTokens is < MinTokens or > MaxTokens)
        {
            errors["maxTokens"] = [$"'maxTokens' must be from {MinTokens} to {MaxTokens}."];
        }

        if (body.Safety is not (null or "exclude" or "include"))
        {
            errors["safety"] = ["'safety' must be 'exclude' or 'include'."];
        }

        if (query is null || errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid grounding request");
        }

        var prompt = await builder.BuildAsync(new GroundRequest { Question = query.Text, Search = query, MaxTokens = maxTokens, ExcludeUnsafe = body.Safety != "include" }, cancellationToken);
        usage?.Posts(prompt.Citations.Count);
        return TypedResults.Ok(prompt);
    }
}
