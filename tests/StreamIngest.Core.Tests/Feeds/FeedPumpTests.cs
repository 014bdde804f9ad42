using System.Text;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Feeds;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Tests;

namespace StreamIngest.Core.Tests.Feeds;

public class FeedPumpTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    private const string Post = """{"source":"demo","id":"1","text":"River over the banks","created_at":"2026-12-02T08:59:00Z","author":{"handle":"a"}}""";

    private static (FeedPump Pump, ListDeadLetters DeadLetters, FeedHealth Health) NewPump()
    {
        var time = new FakeTimeProvider(Now);
        var deadLetters = new ListDeadLetters();
        var health = new FeedHealth("demo", time);
        return (new FeedPump("demo", new WireLineParser(WireFormat.Normalised), deadLetters, health, time), deadLetters, health);
    }

    [Fact]
    public async Task Frame_ParsedFromItsBytes_PostsStampedWithTheirReceiptTime()
    {
        var (pump, deadLetters, health) = NewPump();

        var outcome = await pump.HandleAsync(new RawFrame(Encoding.UTF8.GetBytes(Post), "wss://demo"), CancellationToken.None);

        var post = Assert.Single(outcome.Events).Post!;
        Assert.Equal(("demo:1", Now), (post.Id, post.ReceivedAt));
        Assert.Empty(deadLetters.Items);
        Assert.Equal((1L, 0L), (health.Snapshot().Events, health.Snapshot().DeadLettered));
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D }, "invalid UTF-8 at byte 6", "base64:eyJhIjoiwygifQ==")]
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x72, 0x75, 0x6E, 0x63 }, "malformed JSON", "{\"trunc")]
    public async Task BadFrame_IsDeadLetteredWithTheReasonAndTheFrame_NotThrown(byte[] frame, string reason, string raw)
    {
        var (pump, deadLetters, health) = NewPump();

        var outcome = await pump.HandleAsync(new RawFrame(frame, "wss://demo") { Location = "wss://demo event update" }, CancellationToken.None);

        Assert.Empty(outcome.Events);
        var letter = Assert.Single(deadLetters.Items);
        Assert.StartsWith(reason, letter.Reason, StringComparison.Ordinal);
        Assert.Equal((raw, "wss://demo event update", "demo", Now), (letter.Raw, letter.Location, letter.Source, letter.At));
        Assert.Equal(1L, health.Snapshot().DeadLettered);
        Assert.Equal(1L, pump.Rejected);
    }

    [Fact]
    public async Task RefusedFrame_IsDeadLetteredWithTheReaderReason_WithoutParsing()
    {
        var (pump, deadLetters, _) = NewPump();

        var outcome = await pump.HandleAsync(new RawFrame(Encoding.UTF8.GetBytes(Post), "wss://demo", "frame exceeds 10 bytes"), CancellationToken.None);

        Assert.Empty(outcome.Events);
        Assert.Equal(("frame exceeds 10 bytes", Post), (Assert.Single(deadLetters.Items).Reason, deadLetters.Items.Single().Raw));
    }
}
