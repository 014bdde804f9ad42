using System.Globalization;
using System.Runtime.CompilerServices;
using StreamIngest.Feeds.Parsing;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Feeds.Replay;

/// <summary>
/// Replays a recorded wire file as a feed: demos, backtests and tests. Lines are read as raw bytes (so
/// invalid UTF-8 is caught, not replaced), parsed by <see cref="WireLineParser"/>, re-timed and paced.
/// Bad lines are dead-lettered with their line number and reason and never stop the replay.
/// </summary>
public sealed class ReplayFeedSource(ReplayOptions options, IDeadLetterStore deadLetters, TimeProvider timeProvider) : IFeedSource
{
    public string Name => "replay";

    public long LinesRead { get; private set; }

    /// <summary>Lines dead-lettered so far.</summary>
    public long Rejected => _pump?.Rejected ?? 0;

    private FeedPump? _pump;

    public async IAsyncEnumerable<FeedEvent> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = options.Path;
        var endpoint = "file://" + System.IO.Path.GetFullPath(path);
        TimeSpan shift = TimeSpan.Zero;
        DateTimeOffset? first = null;
        var start = timeProvider.GetUtcNow();
        if (options.Timestamps == ReplayTimestamps.ShiftToNow || options.Speed > 0)
        {
            var (min, max) = await ScanTimeRangeAsync(path, cancellationToken).ConfigureAwait(false);
            first = min;
            shift = options.Timestamps == ReplayTimestamps.ShiftToNow && max is { } newest ? start - newest : TimeSpan.Zero;
        }

        var pump = _pump = new FeedPump(Name, new WireLineParser(options.Format), deadLetters, health: null, timeProvider);
        await foreach (var (lineNo, line, tooLong) in ReadLinesAsync(path, options.MaxLineBytes, cancellationToken).ConfigureAwait(false))
        {
            LinesRead++;
            var frame = new RawFrame(line, endpoint, tooLong ? $"line exceeds {options.MaxLineBytes} bytes" : null)
            {
                Location = $"{System.IO.Path.GetFileName(path)}:{lineNo.ToString(CultureInfo.InvariantCulture)}",
            };
            var outcome = await pump.HandleAsync(frame, cancellationToken).ConfigureAwait(false);
            foreach (var e in outcome.Events)
            {
                if (e.Post is { } post)
                {
                    if (options.Speed > 0)
                    {
                        var due = start + (first is { } f ? (post.CreatedAt - f) / options.Speed : TimeSpan.Zero);
                        var wait = due - timeProvider.GetUtcNow();
                        if (wait > TimeSpan.Zero)
                        {
                            await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
                        }

                        if (options.Timestamps == ReplayTimestamps.ShiftToNow)
                        {
                            post.CreatedAt = due;
                        }
                    }
                    else
                    {
                        post.CreatedAt += shift;
                    }

                    post.ReceivedAt = timeProvider.GetUtcNow();
                }

                // A replay never moves a live source's resume position.
                yield return e with { Cursor = null };
            }
        }
    }

    private async Task<(DateTimeOffset? Min, DateTimeOffset? Max)> ScanTimeRangeAsync(string path, CancellationToken ct)
    {
        DateTimeOffset? min = null, max = null;
        var parser = new WireLineParser(options.Format);
        var context = new ParseContext("replay", path, timeProvider.GetUtcNow());
        await foreach (var (_, line, tooLong) in ReadLinesAsync(path, options.MaxLineBytes, ct).ConfigureAwait(false))
        {
            if (tooLong)
            {
                continue;
            }

            foreach (var e in parser.Parse(line.Span, context).Events)
            {
                if (e.Post is { } p)
                {
                    min = min is null || p.CreatedAt < min ? p.CreatedAt : min;
                    max = max is null || p.CreatedAt > max ? p.CreatedAt : max;
                }
            }
        }

        return (min, max);
    }

    /// <summary>A file's non-blank lines of raw bytes (<see cref="ByteLineReader"/>), numbered; a line over the limit comes cut, flagged.</summary>
    internal static async IAsyncEnumerable<(long LineNo, ReadOnlyMemory<byte> Line, bool TooLong)> ReadLinesAsync(
        string path, int maxLineBytes, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, useAsync: true);
        using var reader = new ByteLineReader(stream, maxLineBytes);
        var lineNo = 0L;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNo++;
            if (line.Bytes.Length > 0 || line.TooLong)
            {
                yield return (lineNo, line.Bytes, line.TooLong);
            }
        }
    }
}
