using StreamIngest.Host.Api;
using StreamIngest.Host.Bench;
using StreamIngest.Host.Dashboard;
using StreamIngest.Host.Hosting;

if (args is ["bench", ..])
{
    return await BenchCommand.RunAsync(args[1..]);
}

if (args is ["train", ..])
{
    return await StreamIngest.Host.Training.TrainCommand.RunAsync(args[1..]);
}

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

var app = builder.Build();
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // A request the framework could not bind (malformed JSON, wrong content type) is the client's error.
    StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();
app.MapOpsApi();
app.MapTelemetry();
if (options.RunsApi)
{
    app.MapSearchApi();
    app.MapGroundApi();
    app.MapSignalsApi();
    app.MapDashboard();
}

await app.RunAsync();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
