using System.Buffers;
using System.Net.WebSockets;

namespace StreamIngest.Feeds;

/// <summary>
/// Whole messages from a WebSocket as the bytes that arrived: each within an idle deadline on the feed's
/// <see cref="TimeProvider"/> (silence longer than that is a stalled connection), a message over the size limit
/// refused with the reason (its first bytes kept for the dead letter), a close from the server ending the read with
/// an error that says so.
/// </summary>
public sealed class WebSocketFrameReader(WebSocket socket, string endpoint, int maxFrameBytes, TimeSpan idleTimeout, TimeProvider timeProvider) : IDisposable
{
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private readonly ArrayBufferWriter<byte> _message = new(64 * 1024);

    public async ValueTask<RawFrame> ReadAsync(CancellationToken cancellationToken)
    {
        using var idle = new FeedDeadline(idleTimeout, timeProvider, cancellationToken);
        var tooLarge = false;
        _message.ResetWrittenCount();
        ValueWebSocketReceiveResult result;
        do
        {
            try
            {
                result = await socket.ReceiveAsync(_buffer.AsMemory(), idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no frame for {idleTimeout.TotalSeconds:0} s");
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"server closed the connection: {socket.CloseStatus} {socket.CloseStatusDescription}");
            }

            if (_message.WrittenCount + result.Count > maxFrameBytes)
            {
                tooLarge = true;
            }
            else
            {
                _message.Write(_buffer.AsSpan(0, result.Count));
            }
        }
        while (!result.EndOfMessage);

        return new RawFrame(_message.WrittenMemory.ToArray(), endpoint, tooLarge ? $"frame exceeds {maxFrameBytes} bytes" : null);
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
