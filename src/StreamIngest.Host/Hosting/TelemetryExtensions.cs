using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Pipeline;

namespace StreamIngest.Host.Hosting;

/// <summary>
/// OpenTelemetry: the pipeline's and the Cosmos store's meters, ASP.NET Core, HttpClient (feeds) and runtime
/// metrics, traces for requests and outgoing calls. A Prometheus scrape endpoint always (<c>/metrics</c>);
/// OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class TelemetryExtensions
{
    public static void AddTelemetry(this IHostApplicationBuilder builder)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("streamingest", serviceInstanceId: Environment.MachineName))
            .WithMetrics(m => m
                .AddMeter(PipelineMetrics.MeterName, CosmosPostStore.MeterName, StreamIngest.Azure.EventHubs.EventHubsFeedPublisher.MeterName, StreamIngest.OpenAI.Embed.OpenAiEmbedder.MeterName, StreamIngest.Capacity.QueryAdmission.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }
    }

    public static IEndpointRouteBuilder MapTelemetry(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
