using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StreamIngest.Capacity;

namespace StreamIngest.Core.Tests.Capacity;

public sealed class CapacityControllerTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private sealed class Rig
    {
        public Rig(double max = 2000)
        {
            Options = new CapacityOptions { MaxQueriesPerSecond = max, MinQueriesPerSecond = 5, PriorityShare = 0, MaxConcurrentQueries = 1000, QueryLatencyTargetMs = 50 };
            Admission = new QueryAdmission(Options, Time);
            Controller = new CapacityController(Admission, Options, Work, ingest: null, Time, Logger);
            Admission.SetRate(max);
            Time.Advance(TimeSpan.FromSeconds(1)); // a full bucket
        }

        public FakeTimeProvider Time { get; } = new();
        public CapacityOptions Options { get; }
        public QueryAdmission Admission { get; }
        public WorkMeter Work { get; } = new();
        public FakeLogger<CapacityController> Logger { get; } = new();
        public CapacityController Controller { get; }

        /// <summary><paramref name="queries"/> queries of <paramref name="ms"/> each (as many as the gate lets in), then one adjustment.</summary>
        public void Tick(int queries, double ms, long? queue)
        {
            var leases = new List<QueryAdmission.Lease>();
            for (var i = 0; i < queries; i++)
            {
                if (Admission.TryEnter(false, out var lease, out _))
                {
                    leases.Add(lease);
                }
            }

            Time.Advance(TimeSpan.FromMilliseconds(ms));
            leases.ForEach(l => l.Dispose());
            Time.Advance(Interval - TimeSpan.FromMilliseconds(ms));
            Controller.Adjust(queue, queue is null ? null : TimeSpan.FromMilliseconds(queue.Value * 3), Admission.TakeWindow(), Interval);
        }

        public IReadOnlyList<FakeLogRecord> Logged(int eventId) => [.. Logger.Collector.GetSnapshot().Where(r => r.Id.Id == eventId)];
    }

    [Fact]
    public void IngestBehind_WhileQueriesCompete_CutsQueriesAtOnce_AndSaysSoOnce()
    {
        var rig = new Rig();
        rig.Tick(queries: 40, ms: 5, queue: 10); // 40 admitted in 100 ms: 400/s, the queue fine
        var before = rig.Admission.Rate;

        rig.Tick(queries: 40, ms: 5, queue: 200); // the queue past twice its target (64)

        // Cut from the rate queries were actually admitted at (400/s), by half: not from the 2,000/s ceiling.
        Assert.Equal(200, rig.Admission.Rate, precision: 6);
        Assert.True(before >= 2000 - 1e-6);
        var behind = Assert.Single(rig.Logged(6001));
        Assert.Equal(LogLevel.Warning, behind.Level);
        Assert.Contains("200 events waiting", behind.Message, StringComparison.Ordinal);

        rig.Tick(queries: 40, ms: 5, queue: 100); // still behind: cut again (by a quarter), no second line
        Assert.True(rig.Admission.Rate < 200);
        Assert.Single(rig.Logged(6001));

        rig.Tick(queries: 40, ms: 5, queue: 10); // caught up
        Assert.Single(rig.Logged(6003));
    }

    [Fact]
    public void IngestBehind_WithNoQueries_LeavesTheirRate_AndSaysThePipelineItselfIsSlow()
    {
        var rig = new Rig();

        rig.Tick(queries: 0, ms: 0, queue: 500);

        Assert.Equal(2000, rig.Admission.Rate, precision: 6);
        Assert.Contains("the pipeline itself is slower than the feed", Assert.Single(rig.Logged(6002)).Message, StringComparison.Ordinal);
        Assert.Empty(rig.Logged(6001));
    }

    [Fact]
    public void SlowQueries_CutTheRate_WhereNoIngestRuns()
    {
        var rig = new Rig();

        rig.Tick(queries: 20, ms: 80, queue: null); // an api replica: no queue; its queries take 80 ms (target 50)

        Assert.Equal(150, rig.Admission.Rate, precision: 6); // 200/s admitted × 0.75
        Assert.Empty(rig.Logger.Collector.GetSnapshot()); // not an ingest episode
    }

    [Fact]
    public void WithRoomAndDemand_TheRateGrowsBackStepByStep()
    {
        var rig = new Rig();
        rig.Admission.SetRate(10);

        rig.Tick(queries: 20, ms: 2, queue: 0); // refusals, nothing queued, ingest idle: +25 % + 0.5
        Assert.Equal(13, rig.Admission.Rate, precision: 6);
        rig.Work.Add(WorkKind.Ingest, 2 * System.Diagnostics.Stopwatch.Frequency * Environment.ProcessorCount); // 2 s of every core
        rig.Controller.Adjust(0, TimeSpan.Zero, new QueryAdmission.Window(), TimeSpan.FromSeconds(2)); // ingest busy; no queries: no change
        Assert.Equal(13, rig.Admission.Rate, precision: 6);
        rig.Tick(queries: 20, ms: 2, queue: 10); // busy but near empty: +2 % + 0.5
        Assert.Equal(13.76, rig.Admission.Rate, precision: 6);
        rig.Tick(queries: 20, ms: 2, queue: 20); // a third of the target: +1 % + 0.5
        Assert.Equal(14.3976, rig.Admission.Rate, precision: 6);
        rig.Tick(queries: 20, ms: 2, queue: 50); // near the target: hold
        Assert.Equal(14.3976, rig.Admission.Rate, precision: 6);
    }

    [Fact]
    public void ARateQueriesDoNotUse_IsNotGrown()
    {
        var rig = new Rig();
        rig.Admission.SetRate(100);

        rig.Tick(queries: 3, ms: 2, queue: 0); // 30/s admitted of 100/s, none refused

        Assert.Equal(100, rig.Admission.Rate, precision: 6);
    }

    [Fact]
    public void Shares_AreTheEmbeddersCoreTimeForEachKind()
    {
        var rig = new Rig();
        var cores = Environment.ProcessorCount;
        // Over 2 s (a full smoothing span): each core busy half the time with posts and a tenth with queries.
        rig.Work.Add(WorkKind.Ingest, (long)(System.Diagnostics.Stopwatch.Frequency * 1.0 * cores));
        rig.Work.Add(WorkKind.Query, (long)(System.Diagnostics.Stopwatch.Frequency * 0.2 * cores));

        rig.Controller.Adjust(0, TimeSpan.Zero, rig.Admission.TakeWindow(), TimeSpan.FromSeconds(2));

        Assert.Equal(0.5, rig.Controller.Current.IngestShare, precision: 3);
        Assert.Equal(0.1, rig.Controller.Current.QueryShare, precision: 3);
    }
}
