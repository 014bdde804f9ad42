using Microsoft.Extensions.Time.Testing;

namespace StreamIngest.Core.Tests.Feeds;

/// <summary>
/// Fake time that moves itself: whenever code waits on a timer (a backoff delay, a poll interval), the
/// wait is recorded and the clock advanced by exactly that much, so no test sleeps for real.
/// </summary>
internal sealed class AdvancingTimeProvider() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    private readonly List<TimeSpan> _waits = [];

    public IReadOnlyList<TimeSpan> Waits
    {
        get
        {
            lock (_waits)
            {
                return [.. _waits];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_waits)
            {
                _waits.Add(dueTime);
            }

            ThreadPool.QueueUserWorkItem(_ => Advance(dueTime));
        }

        return timer;
    }
}
