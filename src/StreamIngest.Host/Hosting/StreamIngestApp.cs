using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using StreamIngest.Capacity;
using StreamIngest.Host.Api;
using StreamIngest.Host.Auth;
using StreamIngest.Host.Chat;
using StreamIngest.Host.Dashboard;
using StreamIngest.Host.Mcp;
using StreamIngest.Host.Watches;
using StreamIngest.Watches;

namespace StreamIngest.Host.Hosting;

/// <summary>The web host as <c>dotnet run</c> starts it; also started in-process by <c>bench api</c>.</summary>
public static class StreamIngestApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = builder.AddStreamIngestCore();
        DataFolderLock? held = null;
        if (options.StoreKind == StoreKind.Sqlite)
        {
            // Before anything opens the folder (the store, the keys file); released when the host is disposed.
            var folder = builder.Configuration.GetSection(StreamIngest.Embedded.Sqlite.SqliteOptions.Section).Get<StreamIngest.Embedded.Sqlite.SqliteOptions>()?.DataPath ?? "data";
            var acquired = held = DataFolderLock.Acquire(folder);
            builder.Services.AddSingleton(_ => acquired); // made by a factory, so the container disposes it
        }

        try
        {
            return Compose(builder, options);
        }
        catch
        {
            held?.Dispose(); // a host that refused to start leaves its folder free at once
            throw;
        }
    }

    private static WebApplication Compose(WebApplicationBuilder builder, StreamIngestOptions options)
    {
        builder.AddEmbedder();
        builder.AddRetrieval();
        builder.AddStore(options);
        builder.AddPipeline(options);
        builder.AddCapacity(readsIngestQueue: options.RunsProcess);
        builder.AddFeeds();
        builder.AddTelemetry();
        builder.AddDashboard();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(OpenApiConventions.Apply);
        builder.AddApiKeys();
        // Standing queries: watches live in the store (AddStore registers it), matched in the process stage;
        // webhooks are delivered by whichever replica holds a watch's lease.
        builder.Services.AddOptions<WatchOptions>().BindConfiguration(WatchOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WatchOptions>>(new SectionValidator<WatchOptions>(WatchOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton<WatchMatcher>();
        if (options.RunsApi || options.RunsProcess)
        {
            builder.Services.AddHttpClient(WebhookDeliveryWorker.HttpClientName);
            builder.Services.AddHostedService<WebhookDeliveryWorker>();
        }

        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ChatOptions>>(new SectionValidator<ChatOptions>(ChatOptions.Section));
        builder.Services.AddSingleton<UpstreamChat>();
        // Agents: the read-side tools over Streamable HTTP. Stateless: each request stands alone, so any replica serves it.
        // Each tool needs the scope of its HTTP endpoint; arguments are checked against the tool's schema first.
        builder.Services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<StreamIngestTools>(StreamIngest.Model.PostJson.Options)
            .WithResources<StreamIngestResources>()
            .WithPrompts<StreamIngestPrompts>()
            .WithRequestFilters(f =>
            {
                f.AddCallToolFilter(McpScopeFilter.CallTool);
                f.AddCallToolFilter(McpArgumentFilter.CallTool);
                f.AddCallToolFilter(McpAdmissionFilter.CallTool);
                f.AddReadResourceFilter(McpScopeFilter.ReadResource);
                f.AddGetPromptFilter(McpScopeFilter.GetPrompt);
            });

        var app = builder.Build();
        _ = app.Services.GetService<DataFolderLock>();
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = UnhandledAsync });
        app.UseStatusCodePages();
        app.UseMiddleware<StreamShutdownMiddleware>();
        app.UseApiKeys(options.RunsApi);
        if (options.RunsApi)
        {
            app.UseMiddleware<Capacity.QueryAdmissionMiddleware>(); // after the key's own limit: keys' limits apply first
        }

        app.MapOpsApi();
        app.MapTelemetry();
        if (options.RunsApi)
        {
            app.MapSearchApi();
            app.MapGroundApi();
            app.MapChatApi();
            app.MapUsage();
            app.MapWatchesApi();
            app.MapSignalsApi();
            app.MapDashboard();
            app.MapMcp("/mcp");
            app.MapProtectedResourceMetadata();
        }

        // The OpenAPI document (/openapi/v1.json) and an interactive reference page (/scalar/v1).
        app.MapOpenApi();
        app.MapScalarApiReference(o =>
        {
            // Everything from this host: no fonts from Scalar's CDN, no telemetry, no cloud AI agent or MCP buttons.
            o.DefaultFonts = false;
            o.Telemetry = false;
            o.Agent = new ScalarAgentOptions { Disabled = true };
            o.Mcp = new ScalarMcpOptions { Disabled = true };
            o.ShowDeveloperTools = DeveloperToolsVisibility.Never;
            o.HideClientButton = true; // "Open in Scalar's client", a cloud service
            o.Title = "StreamIngest API";
        });

        return app;
    }

    /// <summary>
    /// An exception no endpoint handled: a request the framework could not bind (malformed JSON, wrong content
    /// type) is the client's error, anything else a 500; in OpenAI's envelope on its paths, Problem Details elsewhere.
    /// </summary>
    private static async Task UnhandledAsync(HttpContext http)
    {
        var exception = http.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
        var status = exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
        http.Response.StatusCode = status;
        if (OpenAiError.Applies(http.Request.Path))
        {
            await OpenAiError.ForStatus(status, status < 500 ? $"The request could not be read: {exception?.Message}" : "The request failed inside the service; it has been logged.").ExecuteAsync(http);
            return;
        }

        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            // A body that could not be read (not JSON, wrong types): 400 with 'errors' naming it, like every other bad field.
            ProblemDetails = status == StatusCodes.Status400BadRequest
                ? new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["body"] = [$"The body could not be read as this endpoint's JSON: {exception?.InnerException?.Message ?? exception?.Message}"] })
                {
                    Status = status,
                    Title = "The request body is not valid",
                }
                : new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Detail = status < 500 ? exception?.Message : null },
        });
    }
}
