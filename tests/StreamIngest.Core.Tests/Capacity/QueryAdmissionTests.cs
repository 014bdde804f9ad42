using Microsoft.Extensions.Time.Testing;
using StreamIngest.Capacity;

namespace StreamIngest.Core.Tests.Capacity;

public sealed class QueryAdmissionTests
{
    private static QueryAdmission Gate(FakeTimeProvider time, double rate = 8, double priorityShare = 0, int concurrent = 0)
    {
        var gate = new QueryAdmission(new CapacityOptions { MaxQueriesPerSecond = rate, MinQueriesPerSecond = 1, PriorityShare = priorityShare, MaxConcurrentQueries = concurrent }, time);
        gate.SetRate(rate);
        time.Advance(TimeSpan.FromSeconds(1)); // a full bucket
        return gate;
    }

    [Fact]
    public void AGateStartsLow_AndEarnsItsRate()
    {
        var gate = new QueryAdmission(new CapacityOptions { MaxQueriesPerSecond = 2000, MinQueriesPerSecond = 5 }, new FakeTimeProvider());

        Assert.Equal(50, gate.Rate);
    }

    [Fact]
    public void BeyondTheRate_IsRefusedAtOnce_WithWhenToAskAgain_AndTheBudgetRefillsWithTime()
    {
        var time = new FakeTimeProvider();
        var gate = Gate(time, rate: 8); // a bucket of 2 (a quarter second of 8/s, at least 2)

        Assert.True(gate.TryEnter(false, out var first, out _));
        Assert.True(gate.TryEnter(false, out var second, out _));
        Assert.False(gate.TryEnter(false, out _, out var refusal));
        Assert.Equal(RefusalReason.Rate, refusal.Reason);
        // No sooner than eight tokens' time (1 s at 8/s), spread up to twice that.
        Assert.InRange(refusal.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        time.Advance(TimeSpan.FromMilliseconds(125)); // one token
        Assert.True(gate.TryEnter(false, out var third, out _));
        Assert.False(gate.TryEnter(false, out _, out _));
        first.Dispose();
        second.Dispose();
        third.Dispose();
        Assert.Equal(3, gate.Admitted);
        Assert.Equal(2, gate.Refused);
    }

    [Fact]
    public void APriorityKey_SpendsTheShareTheOthersLeave()
    {
        var time = new FakeTimeProvider();
        var gate = Gate(time, rate: 8, priorityShare: 0.5); // bucket 2, of which 1 is held back for priority

        Assert.True(gate.TryEnter(false, out _, out _));
        Assert.False(gate.TryEnter(false, out _, out _)); // one token left: held for priority
        Assert.True(gate.TryEnter(true, out _, out _));
        Assert.False(gate.TryEnter(true, out _, out _)); // spent
    }

    [Fact]
    public void QueriesInFlight_AreCapped_AndAFinishedOneFreesItsPlace()
    {
        var time = new FakeTimeProvider();
        var gate = Gate(time, rate: 1000, concurrent: 2);

        Assert.True(gate.TryEnter(false, out var a, out _));
        Assert.True(gate.TryEnter(false, out var b, out _));
        Assert.False(gate.TryEnter(true, out _, out var refusal));
        Assert.Equal(RefusalReason.Concurrency, refusal.Reason);

        time.Advance(TimeSpan.FromMilliseconds(30));
        a.Dispose();
        Assert.True(gate.TryEnter(false, out var c, out _));
        b.Dispose();
        c.Dispose();
        var window = gate.TakeWindow();
        Assert.Equal(3, window.Admitted);
        Assert.Equal(1, window.Refused);
        Assert.Equal([30.0, 30.0, 0.0], window.DurationsMs); // read on the fake clock
    }

    [Fact]
    public void TheRate_StaysWithinItsBounds()
    {
        var time = new FakeTimeProvider();
        var gate = new QueryAdmission(new CapacityOptions { MaxQueriesPerSecond = 100, MinQueriesPerSecond = 5 }, time);

        gate.SetRate(1);
        Assert.Equal(5, gate.Rate);
        gate.SetRate(1e6);
        Assert.Equal(100, gate.Rate);
    }

    [Fact]
    public void Disabled_AdmitsEverything_AndCountsNothing()
    {
        var gate = new QueryAdmission(new CapacityOptions { Enabled = false, MaxQueriesPerSecond = 1, MinQueriesPerSecond = 1 }, new FakeTimeProvider());

        for (var i = 0; i < 100; i++)
        {
            Assert.True(gate.TryEnter(false, out var lease, out _));
            lease.Dispose();
        }

        Assert.Equal(0, gate.Refused);
    }
}
