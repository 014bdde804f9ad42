using System.ComponentModel;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using StreamIngest.Ground;
using StreamIngest.Host.Api;
using StreamIngest.Host.Auth;
using StreamIngest.Retrieve;
using StreamIngest.Store;

namespace StreamIngest.Host.Mcp;

/// <summary>
/// The HTTP API's read side as Model Context Protocol tools (<c>/mcp</c>, Streamable HTTP), for agents. Each tool
/// runs the same handler as its endpoint, so validation, filters and results are identical; a bad argument is a
/// tool error whose text names the argument and what it accepts. Results are the endpoint's JSON.
/// </summary>
[McpServerToolType]
public sealed class StreamIngestTools(IServiceProvider services, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider timeProvider)
{
    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "search_posts", UseStructuredContent = true, OutputSchemaType = typeof(SearchResponse), Title = "Search recent social posts", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Searches the live store of social posts (Bluesky, X, Mastodon, RSS) by meaning and keywords, newest relevant first. Use it to find what people are saying right now about a topic, ticker, place or event. Returns posts with author, time, URL, language, entities, sentiment, safety labels and a score breakdown.")]
    public async Task<CallToolResult> SearchPostsAsync(
        [Description("What to look for, as a question or keywords, e.g. 'power outages after the storm' or 'NVDA earnings reaction'.")] string query,
        [Description("How many posts to return, 1-100. Default 10.")] int? k = null,
        [Description("'hybrid' (default: meaning and keywords), 'vector' (meaning only) or 'keyword' (exact words, BM25).")] string? mode = null,
        [Description("Only posts from this far back, as an ISO-8601 duration: 'PT1H' (last hour), 'PT15M', 'P1D'. Omit for any time.")] string? window = null,
        [Description("Only posts mentioning this entity: '$TSLA' (cashtag), '#flood' (hashtag) or '@user' (mention).")] string? entity = null,
        [Description("Only posts from this source: 'bsky', 'x', 'mastodon', 'rss', 'demo'.")] string? source = null,
        [Description("Only posts in this language, e.g. 'en', 'de'.")] string? lang = null,
        [Description("Only posts with this sentiment: 'negative', 'neutral' or 'positive'.")] string? sentiment = null,
        [Description("'include' (default: labelled posts returned with their safety labels) or 'exclude' (no post labelled offensive, hate or prompt injection).")] string? safety = null,
        [Description("Only posts by this author handle.")] string? author = null,
        [Description("Only posts linking to this web domain, e.g. 'reuters.com'.")] string? domain = null,
        [Description("Only posts at least this likely to be about the query: an estimated relevance from 0 to 1 (each result's score.relevance), calibrated per embedding model, e.g. 0.5.")] double? minScore = null,
        CancellationToken cancellationToken = default)
    {
        var result = await SearchApi.SearchAsync(
            query, Text(k), mode, window, null, null, source, lang, entity, null, sentiment, null, null, safety, null, author, null, domain,
            minScore?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            services.GetRequiredService<IRetriever>(), timeProvider, cancellationToken, services.GetService<Auth.UsageMeter>());
        return Result(result.Result);
    }

    [RequiresScope(Scopes.Ground)]
    [McpServerTool(Name = "ground_question", UseStructuredContent = true, OutputSchemaType = typeof(GroundedPrompt), Title = "Build a grounded prompt with citations", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Retrieves the posts that answer a question and builds a grounded prompt: system rules, the quoted posts with numbered citations (id, URL, author, time) and the question, within a token budget. Posts labelled as prompt injection are left out and listed with the reason. Use it before answering a question about current events from social media.")]
    public async Task<CallToolResult> GroundQuestionAsync(
        [Description("The user's question, e.g. 'Which roads are closed by the flooding?'.")] string question,
        [Description("Only posts from this far back, as an ISO-8601 duration such as 'PT1H' or 'P1D'. Omit for any time.")] string? window = null,
        [Description("Only posts mentioning this entity: '$TSLA', '#flood' or '@user'.")] string? entity = null,
        [Description("Only posts from this source: 'bsky', 'x', 'mastodon', 'rss', 'demo'.")] string? source = null,
        [Description("How many posts to quote at most, 1-100. Default 8.")] int? k = null,
        [Description("Token budget of the whole prompt, 256-200000. Default 3000.")] int? maxTokens = null,
        CancellationToken cancellationToken = default)
    {
        var result = await GroundApi.GroundAsync(
            new GroundBody { Question = question, Window = window, Entity = entity, Source = source, K = k, MaxTokens = maxTokens },
            services.GetRequiredService<GroundedPromptBuilder>(), timeProvider, cancellationToken, services.GetService<Auth.UsageMeter>());
        return Result(result.Result);
    }

    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "get_post", UseStructuredContent = true, OutputSchemaType = typeof(Model.Post), Title = "Read one stored post", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Reads one stored post by its id (as returned by search_posts or cited by ground_question, e.g. 'bsky:did:plc:abc/3kxyz' or 'x:1790000000000000000'), with all its fields.")]
    public async Task<CallToolResult> GetPostAsync(
        [Description("The post id: source, a colon, and the platform's id.")] string id,
        CancellationToken cancellationToken = default)
    {
        var result = await SearchApi.GetPostAsync(id, services.GetRequiredService<IPostStore>(), cancellationToken);
        return Result(result.Result);
    }

    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "get_feed_status", UseStructuredContent = true, OutputSchemaType = typeof(FeedStatusList), Title = "Feed health", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("The state of every feed the service reads (Bluesky Jetstream, X, Mastodon, RSS, replay): connected or not, posts received, last post time, reconnects, gaps. Use it to judge how fresh and complete the results are.")]
    public CallToolResult GetFeedStatus() => Result(new FeedStatusList(services.GetRequiredService<Feeds.Health.FeedHealthRegistry>().Snapshot()));

    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "get_trends", UseStructuredContent = true, OutputSchemaType = typeof(TrendsResponse), Title = "What is spiking", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Entities (hashtags, cashtags, mentions, linked domains) mentioned unusually often in the last window against their own 12-hour baseline, with velocity and, for cashtags, mean sentiment; merged with the platforms' own trends.")]
    public async Task<CallToolResult> GetTrendsAsync(
        [Description("The window to score, an ISO-8601 duration from PT5M to PT12H. Default PT1H.")] string? window = null,
        [Description("Only this kind: 'hashtag', 'cashtag', 'mention' or 'domain'. Omit for all.")] string? kind = null,
        CancellationToken cancellationToken = default)
    {
        var result = await OpsApi.TrendsAsync(window, kind, services.GetRequiredService<Feeds.Health.TrendRegistry>(), services, timeProvider, cancellationToken);
        return Result(result.Result);
    }

    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "get_stories", UseStructuredContent = true, OutputSchemaType = typeof(StoriesResponse), Title = "Stories forming", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("The largest or fastest-growing stories of the window: groups of posts that say the same thing (reposts, template variants, one headline from many accounts), each with a representative post, size, first and last seen, sources, top entities and mean sentiment.")]
    public async Task<CallToolResult> GetStoriesAsync(
        [Description("The window, an ISO-8601 duration from PT1M to P31D. Default PT1H.")] string? window = null,
        [Description("'size' (default: largest first) or 'growth' (fastest-growing first).")] string? sort = null,
        [Description("How many stories, 1-100. Default 20.")] int? limit = null,
        CancellationToken cancellationToken = default)
    {
        var result = await SignalsApi.StoriesAsync(window, sort, Text(limit), services.GetRequiredService<IPostReader>(), timeProvider, cancellationToken);
        return Result(result.Result);
    }

    [RequiresScope(Scopes.Search)]
    [McpServerTool(Name = "get_sentiment", UseStructuredContent = true, OutputSchemaType = typeof(Enrich.Signals.SentimentSummary), Title = "Mood on a ticker or topic", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Sentiment over time for one entity: mean score in [-1, 1], counts of negative, neutral and positive posts per time bucket, and for a cashtag the finance-aware score. Use it to ask whether the mood on $NVDA is turning.")]
    public async Task<CallToolResult> GetSentimentAsync(
        [Description("The entity: '$NVDA' (cashtag), '#flood' (hashtag) or '@user' (mention).")] string entity,
        [Description("How far back, an ISO-8601 duration from PT1M to P31D. Default PT6H.")] string? window = null,
        [Description("Bucket length, an ISO-8601 duration. Default PT1H.")] string? bucket = null,
        CancellationToken cancellationToken = default)
    {
        var result = await SignalsApi.SentimentAsync(entity, window, bucket, services.GetRequiredService<IPostReader>(), timeProvider, cancellationToken);
        return Result(result.Result);
    }

    private static string? Text(int? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The endpoint's value as the tool's result, as structured content (its schema is the tool's outputSchema) and
    /// as the same JSON in text, or its Problem Details as a tool error naming each bad argument by its MCP name.
    /// </summary>
    private CallToolResult Result(IResult result) => Result(McpEndpointResult.Value(result));

    private CallToolResult Result(object value)
    {
        var element = JsonSerializer.SerializeToElement(value, value.GetType(), json.Value.SerializerOptions);
        return new CallToolResult { Content = [new TextContentBlock { Text = element.GetRawText() }], StructuredContent = element };
    }
}

/// <summary><c>get_feed_status</c>'s result: every feed's health (an object, as MCP's structured content must be).</summary>
public sealed record FeedStatusList(IReadOnlyList<Feeds.Health.FeedStatus> Feeds);
