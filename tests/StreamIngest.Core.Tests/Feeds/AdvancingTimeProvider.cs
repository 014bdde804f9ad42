using Microsoft.Extensions.Time.Testing;

namespace StreamIngest.Core.Tests.Feeds;

/// <summary>
/// Fake time that moves itself: whenever code waits on a timer (a backoff delay, a poll interval), the
/// wait is recorded and the clock advanced by exactly that much, so no test sleeps for real. Deadlines (a
/// cancellation token's timer: idle, stall and heartbeat timeouts) do not move it: a test that wants one to pass
/// moves the clock itself (<see cref="AdvanceWhileAsync"/>).
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
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan && state is not CancellationTokenSource)
        {
            lock (_waits)
            {
                _waits.Add(dueTime);
            }

            ThreadPool.QueueUserWorkItem(_ => Advance(dueTime));
        }

        return timer;
    }

    /// <summary>Moves the clock by <paramref name="step"/> while <paramref name="condition"/> holds (at most 30 s of real time).</summary>
    public async Task AdvanceWhileAsync(Func<bool> condition, TimeSpan step)
    {
        var giveUp = DateTime.UtcNow.AddSeconds(30);
        while (condition() && DateTime.UtcNow < giveUp)
        {
            Advance(step);
            await Task.Delay(10);
        }
    }
}
