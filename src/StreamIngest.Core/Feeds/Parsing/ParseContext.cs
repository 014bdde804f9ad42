using System.Globalization;
using System.Text.Json;
using StreamIngest.Model;

namespace StreamIngest.Feeds.Parsing;

/// <summary>What a parser needs to know about where a line came from, for provenance.</summary>
public sealed record ParseContext(string Adapter, string Endpoint, DateTimeOffset FetchedAt);

/// <summary>
/// The result of parsing one frame or line: events to publish, or the reason it was rejected, or a
/// notice (a well-formed control message such as a stream error object) that carries no post.
/// </summary>
public sealed record ParseOutcome(IReadOnlyList<FeedEvent> Events, string? Error = null, string? Notice = null)
{
    public static readonly ParseOutcome Nothing = new([]);

    public static ParseOutcome Rejected(string reason) => new([], reason);

    public static ParseOutcome Notify(string notice) => new([], Notice: notice);

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The rejection of bytes that are not UTF-8, naming the first bad byte; null when they are UTF-8.</summary>
    public static ParseOutcome? NotUtf8(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return null;
        }

        try
        {
            StrictUtf8.GetString(bytes); // only to say where the bad byte is
            return Rejected("invalid UTF-8");
        }
        catch (System.Text.DecoderFallbackException ex)
        {
            return Rejected($"invalid UTF-8 at byte {ex.Index}");
        }
    }
}

internal static class Json
{
    public static string? Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number => v.GetRawText(),
                _ => null,
            }
            : null;

    public static JsonElement? Obj(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    public static IEnumerable<JsonElement> Arr(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray()
            : [];

    public static long? Long(this JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v))
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n))
        {
            return n;
        }

        return v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n) ? n : null;
    }

    public static DateTimeOffset? Time(this JsonElement e, string name) =>
        e.Str(name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;
}
