using StreamIngest.Watches;

namespace StreamIngest.Core.Tests.Watches;

/// <summary>Watches and their events in memory; <see cref="FailAppend"/> makes recording events fail (a throttled store).</summary>
internal sealed class MemoryWatchStore(params Watch[] watches) : IWatchStore
{
    public List<Watch> Watches { get; } = [.. watches];

    public List<WatchEvent> Events { get; } = [];

    public Task<IReadOnlyList<Watch>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Watch>>([.. Watches]);

    public Exception? FailAppend { get; set; }

    public int Appends { get; private set; }

    public Task<int> AppendEventsAsync(IReadOnlyList<(string WatchId, string PostId, double Score)> matches, DateTimeOffset at, CancellationToken cancellationToken)
    {
        Appends++;
        if (FailAppend is not null)
        {
            throw FailAppend;
        }

        foreach (var (w, p, s) in matches)
        {
            Events.Add(new WatchEvent(Events.Count + 1, w, p, s, at));
        }

        return Task.FromResult(matches.Count);
    }

    public Task AddAsync(Watch watch, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<Watch?> GetAsync(string id, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<IReadOnlyList<WatchEvent>> ReadEventsAsync(string watchId, long after, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<long> GetDeliveredAsync(string watchId, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task SetDeliveredAsync(string watchId, long seq, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task LogDeliveryAsync(WatchDelivery delivery, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<IReadOnlyList<WatchDelivery>> ListDeliveriesAsync(string watchId, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();
    public Task<bool> TryLeaseDeliveryAsync(string watchId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) => throw new NotSupportedException();
}
