using System.Buffers;
using System.Text;

namespace StreamIngest.Feeds;

/// <summary>One server-sent event: its name and data bytes (data lines joined by <c>\n</c>); or a comment line (a heartbeat).</summary>
public readonly record struct SseEvent(string? Name, ReadOnlyMemory<byte> Data, bool TooLong, bool IsComment);

/// <summary>
/// Server-sent events from a byte stream (the text/event-stream framing: <c>event:</c>, <c>data:</c>, a blank line
/// ends an event), the data kept as bytes for the parser. Comment lines (<c>:thump</c>) come back too, so a caller
/// can count them as signs of life; data over the limit is cut and flagged.
/// </summary>
public sealed class SseEventReader(Stream stream, int maxLineBytes) : IDisposable
{
    private readonly ByteLineReader _lines = new(stream, maxLineBytes);
    private readonly ArrayBufferWriter<byte> _data = new();
    private string? _name;
    private bool _tooLong;

    /// <summary>The next event or comment; null when the stream ends.</summary>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await _lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            var bytes = line.Bytes.Span;
            if (bytes.Length > 0 && bytes[0] == (byte)':')
            {
                return new SseEvent(null, default, false, IsComment: true);
            }

            if (bytes.Length == 0 && !line.TooLong)
            {
                var complete = _name is not null && (_data.WrittenCount > 0 || _tooLong) ? new SseEvent(_name, _data.WrittenMemory.ToArray(), _tooLong, false) : (SseEvent?)null;
                _name = null;
                _data.ResetWrittenCount();
                _tooLong = false;
                if (complete is not null)
                {
                    return complete;
                }

                continue;
            }

            if (bytes.StartsWith("event:"u8))
            {
                _name = Encoding.UTF8.GetString(bytes[6..]).Trim();
            }
            else if (bytes.StartsWith("data:"u8))
            {
                _tooLong |= line.TooLong;
                if (_data.WrittenCount > 0)
                {
                    _data.Write("\n"u8);
                }

                _data.Write(bytes[5..].TrimStart((byte)' '));
            }
        }

        return null;
    }

    public void Dispose() => _lines.Dispose();
}
