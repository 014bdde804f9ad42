using StreamIngest.Feeds;
using StreamIngest.Model;

namespace StreamIngest.Core.Tests.Feeds;

internal static class FeedEvents
{
    /// <summary>Reads a feed until <paramref name="done"/> holds (or 30 s pass, which fails the test), then stops it.</summary>
    public static async Task<List<FeedEvent>> CollectAsync(IFeedSource source, Func<List<FeedEvent>, bool> done)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var events = new List<FeedEvent>();
        await foreach (var e in source.ReadAsync(cts.Token))
        {
            events.Add(e);
            if (done(events))
            {
                break;
            }
        }

        return events;
    }
}
