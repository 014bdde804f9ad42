using System.Text;
using StreamIngest.Feeds.Health;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds;

/// <summary>
/// One frame as a platform received it: its bytes, where it came from (endpoint, and the event name where the
/// protocol has one), and the reason when the reader already refused it (too large to hold).
/// </summary>
public readonly record struct RawFrame(ReadOnlyMemory<byte> Bytes, string Endpoint, string? Refused = null)
{
    /// <summary>Where a dead letter says the frame came from.</summary>
    public string Location { get; init; } = Endpoint;
}

/// <summary>
/// Where every platform's frames become feed events, the same way: the bytes are parsed once (no decoding to a
/// string and back), a frame that was refused or does not parse is dead-lettered with the reason and the frame
/// (never dropped in silence), every post is stamped with its receipt time, and every frame counts in the feed's
/// health. Platform classes only read frames and keep their own position, reconnects and gaps.
/// </summary>
public sealed class FeedPump(
    string source,
    Func<ReadOnlyMemory<byte>, ParseContext, ParseOutcome> parse,
    IDeadLetterStore deadLetters,
    FeedHealth? health,
    TimeProvider timeProvider)
{
    /// <summary>A pump over <see cref="WireLineParser"/>, which validates UTF-8 and reads any supported wire format.</summary>
    public FeedPump(string source, WireLineParser parser, IDeadLetterStore deadLetters, FeedHealth? health, TimeProvider timeProvider)
        : this(source, (bytes, context) => parser.Parse(bytes.Span, context), deadLetters, health, timeProvider)
    {
    }

    /// <summary>Frames dead-lettered so far.</summary>
    public long Rejected { get; private set; }

    /// <summary>
    /// The frame's events (posts stamped with their receipt time), and its notice when it is a control message;
    /// nothing, after dead-lettering it, when it was refused or does not parse.
    /// </summary>
    public async ValueTask<ParseOutcome> HandleAsync(RawFrame frame, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        health?.OnEvent();
        var outcome = frame.Refused is { } refused
            ? ParseOutcome.Rejected(refused)
            : parse(frame.Bytes, new ParseContext(source, frame.Endpoint, now));
        if (outcome.Error is { } reason)
        {
            Rejected++;
            health?.OnDeadLetter();
            await deadLetters.WriteAsync(DeadLetter.Create(source, reason, Printable(frame.Bytes.Span), frame.Location, now), cancellationToken).ConfigureAwait(false);
            return ParseOutcome.Nothing;
        }

        foreach (var e in outcome.Events)
        {
            if (e.Post is { } post)
            {
                post.ReceivedAt = now;
            }
        }

        return outcome;
    }

    /// <summary>The frame as text for the dead letter; bytes that are not UTF-8 as base64, said so.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var head = bytes[..Math.Min(bytes.Length, DeadLetter.MaxRawChars * 4)];
        return System.Text.Unicode.Utf8.IsValid(head) ? Encoding.UTF8.GetString(head) : "base64:" + Convert.ToBase64String(head[..Math.Min(head.Length, DeadLetter.MaxRawChars / 4 * 3)]);
    }
}
