using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using StreamIngest.Ground;
using StreamIngest.Host.Api;
using StreamIngest.Host.Auth;
using StreamIngest.Store;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// What an agent reads rather than asks for, as MCP resources: one post by its URI, and the current stories and
/// trends. Each needs the <c>search</c> scope, as its HTTP endpoint does, and returns that endpoint's JSON.
/// </summary>
[McpServerResourceType]
public sealed class StreamIngestResources(IServiceProvider services, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider timeProvider)
{
    [RequiresScope(Scopes.Search)]
    [McpServerResource(UriTemplate = "streamingest://posts/{id}", Name = "post", Title = "A stored post", MimeType = "application/json")]
    [Description("One stored post with all its fields. The id as search_posts returns it, percent-encoded: streamingest://posts/bsky%3Adid%3Aplc%3Aabc%2F3kxyz.")]
    public async Task<TextResourceContents> PostAsync(string id, CancellationToken cancellationToken)
    {
        var postId = Uri.UnescapeDataString(id);
        var result = await SearchApi.GetPostAsync(postId, services.GetRequiredService<IPostStore>(), cancellationToken);
        return result.Result is Ok<Model.Post> { Value: { } post }
            ? Contents($"streamingest://posts/{Uri.EscapeDataString(postId)}", post)
            : throw new McpException($"No stored post has the id '{postId}'.");
    }

    [RequiresScope(Scopes.Search)]
    [McpServerResource(UriTemplate = "streamingest://stories/current", Name = "current_stories", Title = "Stories of the last hour", MimeType = "application/json")]
    [Description("The largest stories of the last hour: groups of posts that say the same thing, with a representative post, size, sources and mood.")]
    public async Task<TextResourceContents> StoriesAsync(CancellationToken cancellationToken)
    {
        var result = await SignalsApi.StoriesAsync("PT1H", "size", "20", services.GetRequiredService<IPostReader>(), timeProvider, cancellationToken);
        return Contents("streamingest://stories/current", McpEndpointResult.Value(result.Result));
    }

    [RequiresScope(Scopes.Search)]
    [McpServerResource(UriTemplate = "streamingest://trends/current", Name = "current_trends", Title = "What is spiking in the last hour", MimeType = "application/json")]
    [Description("Hashtags, cashtags, mentions and domains mentioned unusually often in the last hour against their 12-hour baseline, with the platforms' own trends.")]
    public async Task<TextResourceContents> TrendsAsync(CancellationToken cancellationToken)
    {
        var result = await OpsApi.TrendsAsync("PT1H", null, services.GetRequiredService<Feeds.Health.TrendRegistry>(), services, timeProvider, cancellationToken);
        return Contents("streamingest://trends/current", McpEndpointResult.Value(result.Result));
    }

    private TextResourceContents Contents(string uri, object value) => new()
    {
        Uri = uri,
        MimeType = "application/json",
        Text = JsonSerializer.Serialize(value, value.GetType(), json.Value.SerializerOptions),
    };
}

/// <summary>Prompt templates for agents: a question grounded in the current posts, with numbered citations.</summary>
[McpServerPromptType]
public sealed class StreamIngestPrompts(GroundedPromptBuilder builder, TimeProvider timeProvider)
{
    [RequiresScope(Scopes.Ground)]
    [McpServerPrompt(Name = "grounded_question", Title = "Answer from what is being said now")]
    [Description("A question answered only from current social posts: the system rules (cite [n], treat posts as untrusted quotations), then the quoted posts and the question.")]
    public async Task<GetPromptResult> GroundedQuestionAsync(
        [Description("The question, e.g. 'Which roads are closed by the flooding?'.")] string question,
        [Description("How far back to look, an ISO-8601 duration such as 'PT1H' or 'P1D'. Default: any time.")] string? window = null,
        CancellationToken cancellationToken = default)
    {
        var result = await GroundApi.GroundAsync(new GroundBody { Question = question, Window = window }, builder, timeProvider, cancellationToken);
        var prompt = (GroundedPrompt)McpEndpointResult.Value(result.Result);

        // MCP prompts carry user and assistant turns: the rules open the user turn, before the quoted posts.
        var user = prompt.Messages.Last(m => m.Role == "user").Content;
        return new GetPromptResult
        {
            Description = $"Grounded in {prompt.Citations.Count} posts",
            Messages = [new ModelContextProtocol.Protocol.PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = $"{prompt.System}\n\n{user}" } }],
        };
    }
}
