namespace StreamIngest.Model;

/// <summary>Where an event sits on a partitioned transport: the stream (e.g. <c>eventhubs/3</c>) and its sequence number there.</summary>
public sealed record TransportPosition(string Stream, long Sequence);

/// <summary>One engagement event for a post: what it adds, and its transport position when the transport has one.</summary>
public sealed record EngagementEvent(Engagement Delta, TransportPosition? Position = null)
{
    public static Engagement Sum(IEnumerable<EngagementEvent> events) =>
        events.Aggregate(new Engagement(), (sum, e) => new Engagement(
            sum.Likes + e.Delta.Likes, sum.Reposts + e.Delta.Reposts, sum.Replies + e.Delta.Replies, sum.Quotes + e.Delta.Quotes));
}
