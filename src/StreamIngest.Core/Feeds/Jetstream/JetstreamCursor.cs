using System.Globalization;

namespace StreamIngest.Feeds.Jetstream;

/// <summary>
/// Where a Jetstream reader is: the newest cursor read (v1 <c>time_us</c> or v2 <c>seq</c>), so a reconnect resumes
/// there even before it is stored, and where the previous connection resumed, so every reconnect moves on.
/// </summary>
public sealed class JetstreamCursor
{
    private long? _previousResume;

    /// <summary>The newest cursor read; null before the first frame (and after the server refused it as too old).</summary>
    public long? Last { get; private set; }

    /// <summary>Starts from the stored cursor (null or unparsable: live).</summary>
    public void Load(string? stored) =>
        Last = long.TryParse(stored, NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) ? c : null;

    /// <summary>The server refused the cursor (older than its lookback): the next connection goes live.</summary>
    public void Forget() => Last = null;

    /// <summary>
    /// The cursor for the next connection attempt. v1 cursors are unix microseconds (≥ 10^15) and rewind by
    /// <paramref name="rewindSeconds"/>; v2 cursors are sequence numbers and rewind by 1,000.
    /// </summary>
    public long? NextResume(int rewindSeconds) =>
        Last is { } last
            ? ResumeCursor(last, _previousResume, last >= 1_000_000_000_000_000L ? rewindSeconds * 1_000_000L : 1000)
            : null;

    /// <summary>A connection opened at <paramref name="resume"/>: the next one must start later.</summary>
    public void Connected(long? resume) => _previousResume = resume;

    /// <summary>
    /// Where a reconnect resumes: the newest cursor handed on, rewound (Jetstream delivers slightly out of order
    /// around a cursor, so a few seconds are read again and collapsed by id downstream), but never by more than
    /// half of what the previous connection covered, so that a server dropping the connection more often than the
    /// rewind is long still gets the whole stream through: each reconnect starts later than the one before.
    /// </summary>
    public static long ResumeCursor(long last, long? previousResume, long rewind)
    {
        if (previousResume is { } prev && last > prev)
        {
            rewind = Math.Min(rewind, (last - prev) / 2);
        }

        var resume = Math.Max(0, last - rewind);
        return previousResume is { } p && resume <= p ? Math.Min(last, p + 1) : resume;
    }

    /// <summary>
    /// Notes the frame's cursor. False when the frame is at or before the newest already seen (received again
    /// after a rewind).
    /// </summary>
    public bool Track(ReadOnlySpan<byte> frame)
    {
        var key = frame.IndexOf("\"$type\":\"message\""u8) >= 0 ? "\"seq\":"u8 : "\"time_us\":"u8;
        var i = frame.IndexOf(key);
        if (i < 0)
        {
            return true;
        }

        var span = frame[(i + key.Length)..];
        var end = 0;
        while (end < span.Length && char.IsAsciiDigit((char)span[end]))
        {
            end++;
        }

        if (!System.Buffers.Text.Utf8Parser.TryParse(span[..end], out long t, out var consumed) || consumed != end || end == 0)
        {
            return true;
        }

        if (Last is null || t > Last)
        {
            Last = t;
            return true;
        }

        return false;
    }
}
