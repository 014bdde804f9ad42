using StreamIngest.Enrich.Signals;
using StreamIngest.Store;

namespace StreamIngest.Host.Hosting;

/// <summary>At start, reads the last day's stored posts back into the story clusterer's memory (in the background: ingest does not wait).</summary>
public sealed partial class StoryMemoryWarmer(StoryClusterer clusterer, IPostReader reader, ILogger<StoryMemoryWarmer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            LogWarmed(await clusterer.WarmAsync(reader, stoppingToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(ex);
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Story memory: {Count} stored posts of the last day remembered")]
    private partial void LogWarmed(int count);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Story memory could not be read back; new stories start fresh")]
    private partial void LogFailed(Exception ex);
}
