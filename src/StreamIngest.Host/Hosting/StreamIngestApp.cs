using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
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
        builder.AddLocalEmbedder();
        builder.AddRetrieval();
        builder.AddStore(options);
        builder.AddPipeline(options);
        builder.AddFeeds();
        builder.AddTelemetry();
        builder.AddDashboard();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
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

        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section);
        builder.Services.AddSingleton<UpstreamChat>();
        // Agents: the read-side tools over Streamable HTTP. Stateless: each request stands alone, so any replica serves it.
        builder.Services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<StreamIngestTools>();

        var app = builder.Build();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A request the framework could not bind (malformed JSON, wrong content type) is the client's error.
            StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseApiKeys(options.RunsApi);
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
        }

        // The OpenAPI document (/openapi/v1.json) and an interactive reference page (/scalar/v1).
        app.MapOpenApi();
        app.MapScalarApiReference();

        return app;
    }
}
