using System.Text;
using System.Text.Json;
using StreamIngest.Enrich;

namespace StreamIngest.Feeds.Parsing;

public enum WireFormat
{
    /// <summary>Detect per line: Jetstream, normalised post, or X API v2.</summary>
    Auto,
    Normalised,
    XApiV2,
    Jetstream,
}

/// <summary>
/// Parses one line (or frame) of any supported wire format. Never throws for bad input: invalid UTF-8,
/// malformed or truncated JSON, unknown shapes and missing fields come back as rejections with a reason.
/// </summary>
public sealed class WireLineParser(WireFormat format = WireFormat.Auto, bool includeEngagement = false)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };
    private readonly JetstreamParser _jetstream = new(includeEngagement);

    public ParseOutcome Parse(ReadOnlySpan<byte> line, ParseContext context) =>
        ParseOutcome.NotUtf8(line) ?? ParseUtf8(line.ToArray(), context);

    public ParseOutcome Parse(string line, ParseContext context) => ParseUtf8(Encoding.UTF8.GetBytes(line), context);

    /// <summary>Parses and hashes the same UTF-8 bytes, so a line is neither decoded nor re-encoded on the way.</summary>
    private ParseOutcome ParseUtf8(byte[] line, ParseContext context)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return ParseOutcome.Rejected($"malformed JSON: {ex.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ParseOutcome.Rejected($"expected a JSON object, got {root.ValueKind}");
            }

            var hash = ContentHash.OfRaw(line);
            try
            {
                return format switch
                {
                    WireFormat.Normalised => NormalisedPostParser.Parse(root, hash, context),
                    WireFormat.XApiV2 => XApiV2Parser.Parse(root, hash, context),
                    WireFormat.Jetstream => _jetstream.Parse(root, hash, context),
                    _ when JetstreamParser.Recognizes(root) => _jetstream.Parse(root, hash, context),
                    _ when NormalisedPostParser.Recognizes(root) => NormalisedPostParser.Parse(root, hash, context),
                    _ when XApiV2Parser.Recognizes(root) => XApiV2Parser.Parse(root, hash, context),
                    _ => ParseOutcome.Rejected("unrecognised line: not a normalised post, X API v2 payload or Jetstream event"),
                };
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException)
            {
                // A field of an unexpected JSON type deep inside a payload.
                return ParseOutcome.Rejected($"unexpected payload shape: {ex.Message}");
            }
        }
    }
}
