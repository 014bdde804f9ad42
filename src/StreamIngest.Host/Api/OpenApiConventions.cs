using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using StreamIngest.Host.Auth;
using StreamIngest.Host.Chat;

namespace StreamIngest.Host.Api;

/// <summary>
/// What the generated OpenAPI document cannot know from the endpoints alone: how callers authenticate (an API key
/// header or a bearer key or Entra ID token) and which scope each operation needs, the errors every protected
/// operation can answer (401, 403, 429 as Problem Details, or OpenAI's envelope on its paths), the real types of the
/// query parameters the handlers validate themselves, and the paths served outside the endpoint list (health,
/// metrics, MCP). The document passes <c>@redocly/cli lint</c>'s recommended rules without errors (a test).
/// </summary>
public static class OpenApiConventions
{
    public static void Apply(OpenApiOptions options) => options.AddDocumentTransformer((document, _, _) =>
    {
        Transform(document);
        return Task.CompletedTask;
    });

    private static readonly Dictionary<string, Func<IOpenApiSchema>> QueryTypes = new(StringComparer.Ordinal)
    {
        ["k"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "100", Default = JsonValue.Create(10) },
        ["limit"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
        ["min_engagement"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" },
        ["min_sentiment"] = () => new OpenApiSchema { Type = JsonSchemaType.Number, Minimum = "-1", Maximum = "1" },
        ["max_sentiment"] = () => new OpenApiSchema { Type = JsonSchemaType.Number, Minimum = "-1", Maximum = "1" },
        ["collapse"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = JsonValue.Create(true) },
        ["mode"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("hybrid"), JsonValue.Create("keyword"), JsonValue.Create("vector")] },
        ["sentiment"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("negative"), JsonValue.Create("neutral"), JsonValue.Create("positive")] },
        ["safety"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("include"), JsonValue.Create("exclude")] },
        ["since"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["until"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["window"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "duration", Description = "An ISO-8601 duration back from now, e.g. PT1H" },
    };

    public static void Transform(OpenApiDocument document)
    {
        document.Info.Title = "StreamIngest";
        document.Info.Description = "A live, searchable memory of social posts: hybrid search, grounded prompts with citations, OpenAI-compatible chat, standing queries.";
        document.Servers = [.. (document.Servers ?? []).Select(s => new OpenApiServer { Url = s.Url?.TrimEnd('/'), Description = s.Description })];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "A key made with the host's 'keys create' command (si_…).",
        };
        document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The same key as a bearer token, or an Entra ID access token whose scp/roles name the scopes.",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas["ProblemDetails"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "RFC 7807 Problem Details.",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
        document.Components.Schemas["OpenAIError"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "OpenAI's error envelope, which the OpenAI SDKs read.",
            Required = new HashSet<string> { "error" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["error"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["message"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["param"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                        ["code"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                    },
                },
            },
        };

        document.Paths ??= new OpenApiPaths();
        AddOpenPath(document, "/health/live", "Liveness: the process answers", "text/plain");
        AddOpenPath(document, "/health/ready", "Readiness: the store (and in distributed mode Event Hubs and Blob checkpoints) reachable", "text/plain");
        AddOpenPath(document, "/metrics", "Prometheus metrics", "text/plain");

        if (document.Paths.TryGetValue("/v1/chat/completions", out var chat) && chat.Operations?.GetValueOrDefault(HttpMethod.Post) is { } completions)
        {
            DescribeChat(completions);
        }

        foreach (var (path, item) in document.Paths)
        {
            foreach (var (_, operation) in item.Operations ?? [])
            {
                Describe(document, path, operation);
            }
        }

        document.Paths["/mcp"] = new OpenApiPathItem
        {
            Description = "Model Context Protocol over Streamable HTTP (JSON-RPC 2.0): tools search_posts, ground_question, get_post, get_feed_status, get_trends, get_stories, get_sentiment. Use an MCP client.",
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Post] = new()
                {
                    OperationId = "Mcp",
                    Summary = "MCP JSON-RPC messages (initialize, tools/list, tools/call, …)",
                    Tags = new HashSet<OpenApiTagReference> { new("Mcp", document) },
                    RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } } },
                    },
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse
                        {
                            Description = "The JSON-RPC response, as JSON or one server-sent event",
                            Content = new Dictionary<string, OpenApiMediaType>
                            {
                                ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } },
                                ["text/event-stream"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                            },
                        },
                    },
                },
            },
        };
        Describe(document, "/mcp", document.Paths["/mcp"].Operations![HttpMethod.Post]);
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = "Mcp", Description = "Agents: the read side as MCP tools" });
    }

    /// <summary>The chat body and answer in outline: OpenAI's chat completion format plus the <c>streamingest</c> extension and <c>citations</c>.</summary>
    private static void DescribeChat(OpenApiOperation operation)
    {
        static OpenApiSchema Str(string? description = null) => new() { Type = JsonSchemaType.String, Description = description };
        var message = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "role" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["role"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. new[] { "system", "developer", "user", "assistant", "tool" }.Select(r => (JsonNode)JsonValue.Create(r))] },
                ["content"] = new OpenApiSchema { Description = "A string, or an array of text parts; null for an assistant message with tool_calls" },
                ["tool_calls"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Object } },
                ["tool_call_id"] = Str("For role 'tool': the call it answers"),
            },
        };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "messages" },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["model"] = Str("'streamingest' (the configured default) or a model GET /v1/models lists"),
                            ["messages"] = new OpenApiSchema { Type = JsonSchemaType.Array, MinItems = 1, Items = message },
                            ["stream"] = new OpenApiSchema { Type = JsonSchemaType.Boolean },
                            ["temperature"] = new OpenApiSchema { Type = JsonSchemaType.Number, Minimum = "0", Maximum = "2" },
                            ["max_tokens"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
                            ["tools"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Object } },
                            ["tool_choice"] = new OpenApiSchema { Description = "'none', 'auto', 'required' or a function" },
                            ["streamingest"] = new OpenApiSchema { Type = JsonSchemaType.Object, Description = "Retrieval filters: the fields of POST /v1/ground (window, entity, source, k, ...)" },
                        },
                    },
                },
            },
        };
        operation.Responses ??= new OpenApiResponses();
        operation.Responses["200"] = new OpenApiResponse
        {
            Description = "The upstream's chat.completion with citations, or chat.completion.chunk events when streaming",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["id"] = Str(),
                            ["object"] = Str(),
                            ["model"] = Str(),
                            ["choices"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Object } },
                            ["citations"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Object } },
                            ["streamingest"] = new OpenApiSchema { Type = JsonSchemaType.Object, Description = "unsupported_citations, excluded, freshness" },
                        },
                    },
                },
                ["text/event-stream"] = new() { Schema = Str() },
            },
        };
        foreach (var status in new[] { "502", "503", "504" })
        {
            operation.Responses[status] = new OpenApiResponse
            {
                Description = status switch { "502" => "The upstream failed or could not be reached", "503" => "No upstream configured", _ => "The upstream did not answer in time" },
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } } },
            };
        }
    }

    private static void AddOpenPath(OpenApiDocument document, string path, string summary, string mediaType) =>
        document.Paths[path] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new()
                {
                    OperationId = path.Trim('/').Replace('/', '-'),
                    Summary = summary,
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse
                        {
                            Description = "OK",
                            Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } } },
                        },
                        ["503"] = new OpenApiResponse { Description = "Not ready or not healthy" },
                    },
                },
            },
        };

    private static void Describe(OpenApiDocument document, string path, OpenApiOperation operation)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.In == ParameterLocation.Query && QueryTypes.TryGetValue(parameter.Name!, out var schema))
            {
                parameter.Schema = schema();
            }

            if (parameter.Name is "q" && path == "/v1/search")
            {
                parameter.Required = true;
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = SearchParameters.MaxQueryChars };
            }
        }

        var scope = Scopes.For(path);
        if (scope is null)
        {
            operation.Security = []; // open: health, metrics
            return;
        }

        var scopes = scope == Scopes.AnyScope ? new List<string>() : [scope];
        operation.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = scopes },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = scopes },
        ];
        var error = OpenAiError.Applies(path) ? "OpenAIError" : "ProblemDetails";
        var mediaType = OpenAiError.Applies(path) ? "application/json" : "application/problem+json";
        operation.Responses ??= new OpenApiResponses();
        Error(operation, document, "401", "No API key, or one that is not valid", error, mediaType);
        Error(operation, document, "403", $"The key lacks the '{(scope == Scopes.AnyScope ? "tool's" : scope)}' scope", error, mediaType);
        Error(operation, document, "429", "Past the key's requests per minute; see Retry-After", error, mediaType);
        if ((operation.Parameters?.Count > 0 || operation.RequestBody is not null) && !operation.Responses.ContainsKey("400"))
        {
            Error(operation, document, "400", "A parameter or body field is not valid; the error names it", error, mediaType);
        }
    }

    private static void Error(OpenApiOperation operation, OpenApiDocument document, string status, string description, string schema, string mediaType)
    {
        if (operation.Responses!.ContainsKey(status))
        {
            return;
        }

        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() { Schema = new OpenApiSchemaReference(schema, document) } },
        };
    }
}
