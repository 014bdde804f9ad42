using System.Text.Json;
using StreamIngest.Azure.EventHubs;
using StreamIngest.Model;

namespace StreamIngest.Azure.Tests.EventHubs;

public class EventHubsFeedPublisherTests
{
    private static Post NewPost(string id) => new()
    {
        Id = id,
        Source = id[..id.IndexOf(':', StringComparison.Ordinal)],
        NativeId = id[(id.IndexOf(':', StringComparison.Ordinal) + 1)..],
        CreatedAt = DateTimeOffset.Parse("2026-11-20T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
        Text = "River rising #flood",
        Author = new Author("reporter", "Reporter", 12, "did:plc:abc"),
        Metrics = new Engagement(3, 1, 0, 0),
        Provenance = new Provenance("jetstream", "wss://example/subscribe", DateTimeOffset.UnixEpoch, "ab"),
    };

    [Fact]
    public void ToEventData_ThenFromEventData_RoundTripsTheFeedEvent()
    {
        var original = FeedEvent.Upsert(NewPost("bsky:did:plc:abc/3k1"), "1725911162329308");

        var data = EventHubsFeedPublisher.ToEventData(original);
        var back = EventHubsFeedPublisher.FromEventData(data);

        Assert.Equal("application/json", data.ContentType);
        Assert.Equal("bsky:did:plc:abc/3k1", data.MessageId);
        Assert.Equal((original.Kind, original.PostId, original.Cursor), (back.Kind, back.PostId, back.Cursor));
        Assert.Equal(original.Post!.Text, back.Post!.Text);
        Assert.Equal(original.Post.Author, back.Post.Author);
        Assert.Equal(original.Post.Metrics, back.Post.Metrics);
        Assert.Equal(original.Post.CreatedAt, back.Post.CreatedAt);
    }

    [Fact]
    public void PartitionKey_BlueskyEvents_UseTheAuthorSoCreateLikeAndDeleteStayInOrder()
    {
        var create = FeedEvent.Upsert(NewPost("bsky:did:plc:abc/3k1"));
        var like = FeedEvent.Engage("bsky:did:plc:abc/3k1", new Engagement(Likes: 1));
        var delete = FeedEvent.Delete("bsky:did:plc:abc/3k1");
        var other = FeedEvent.Upsert(NewPost("bsky:did:plc:abc/3k2"));

        Assert.All(new[] { create, like, delete, other }, e => Assert.Equal("did:plc:abc", e.PartitionKey));
        Assert.Equal("mastodon:host/1", FeedEvent.Delete("mastodon:host/1").PartitionKey);
        var sent = EventHubsFeedPublisher.ToEventData(create with { PartitionKey = "kept" });
        Assert.Equal("kept", JsonSerializer.Deserialize<FeedEvent>(sent.EventBody.ToArray(), PostJson.Options)!.PartitionKey); // survives the hop between roles
    }
}
