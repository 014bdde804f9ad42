using System.Buffers;

namespace StreamIngest.Feeds;

/// <summary>One line of a byte stream: its bytes (trimmed of CR, spaces and a leading byte order mark), and whether it was cut at the limit.</summary>
public readonly record struct ByteLine(ReadOnlyMemory<byte> Bytes, bool TooLong);

/// <summary>
/// Splits a stream (a file, a streaming HTTP body) into lines of raw bytes without decoding them, so invalid UTF-8
/// reaches the parser as it arrived and is refused with its position. A line over the limit is kept cut (its first
/// 4 KiB, for the dead letter) and read on to its end. Each read takes the caller's token, so a stall deadline can
/// be set per line.
/// </summary>
public sealed class ByteLineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private int _start;
    private int _end;
    private bool _eof;

    /// <summary>The next line, blank lines included (empty bytes); null at the end of the stream.</summary>
    public async ValueTask<ByteLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.ResetWrittenCount();
        var tooLong = false;
        while (true)
        {
            if (_start == _end)
            {
                if (_eof)
                {
                    return _line.WrittenCount > 0 || tooLong ? Finish(tooLong) : null;
                }

                _start = 0;
                _end = await stream.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (_end == 0)
                {
                    _eof = true;
                    continue;
                }
            }

            var span = _buffer.AsSpan(_start, _end - _start);
            var nl = span.IndexOf((byte)'\n');
            var chunk = nl < 0 ? span : span[..nl];
            if (!tooLong)
            {
                var room = maxLineBytes - _line.WrittenCount;
                if (chunk.Length > room)
                {
                    _line.Write(chunk[..Math.Max(0, Math.Min(room, 4096))]);
                    tooLong = true;
                }
                else
                {
                    _line.Write(chunk);
                }
            }

            if (nl < 0)
            {
                _start = _end;
                continue;
            }

            _start += nl + 1;
            return Finish(tooLong);
        }
    }

    private ByteLine Finish(bool tooLong) => new(Trim(_line.WrittenMemory).ToArray(), tooLong);

    private static ReadOnlyMemory<byte> Trim(ReadOnlyMemory<byte> line)
    {
        var s = line.Span;
        var end = s.Length;
        while (end > 0 && (s[end - 1] == (byte)'\r' || s[end - 1] == (byte)' ' || s[end - 1] == (byte)'\t'))
        {
            end--;
        }

        var start = 0;
        if (end >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        {
            start = 3; // UTF-8 byte order mark
        }

        while (start < end && (s[start] == (byte)' ' || s[start] == (byte)'\t'))
        {
            start++;
        }

        return line[start..end];
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
