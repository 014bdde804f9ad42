using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StreamIngest.Model;

namespace StreamIngest.Feeds;

/// <summary>
/// A live feed with a stand-in: events come from <paramref name="live"/>; if its first connection attempt
/// fails everywhere (no network), it says so once and <paramref name="fallback"/> (the demo replay) runs as
/// well. The live feed keeps retrying, so live posts appear as soon as the network answers.
/// </summary>
public sealed partial class FallbackFeedSource(
    IFeedSource live,
    Task<bool> liveConnected,
    IFeedSource fallback,
    ILogger<FallbackFeedSource> logger) : IFeedSource
{
    public string Name => live.Name;

    public IAsyncEnumerable<FeedEvent> ReadAsync(CancellationToken cancellationToken) =>
        FeedMerge.ReadAllAsync(1024, [(writer, ct) => PumpAsync(live, writer, ct), FallbackAsync], cancellationToken);

    private async Task FallbackAsync(ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        try
        {
            if (!await liveConnected.WaitAsync(ct).ConfigureAwait(false))
            {
                LogFallingBack(live.Name, fallback.Name);
                await PumpAsync(fallback, writer, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down before the live feed decided
        }
    }

    private static async Task PumpAsync(IFeedSource source, ChannelWriter<FeedEvent> writer, CancellationToken ct)
    {
        try
        {
            await foreach (var e in source.ReadAsync(ct).ConfigureAwait(false))
            {
                await writer.WriteAsync(e, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // shutting down
        }
    }

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "No network answered for feed {Live}; serving {Fallback} instead (the live feed keeps retrying)")]
    private partial void LogFallingBack(string live, string fallback);
}
