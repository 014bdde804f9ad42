namespace StreamIngest.Feeds.X;

/// <summary>
/// The post ids seen lately (stream redeliveries and search overlap are dropped by them), bounded to the newest
/// <c>capacity</c>, and the newest id seen, where gap recovery and recent search start from.
/// </summary>
public sealed class XSeenIds(int capacity = 50_000)
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _lock = new();
    private string? _newest;

    public string? Newest
    {
        get
        {
            lock (_lock)
            {
                return _newest;
            }
        }
    }

    /// <summary>True the first time an id is seen (within the window), false for a repeat.</summary>
    public bool Add(string id)
    {
        lock (_lock)
        {
            if (!_seen.Add(id))
            {
                return false;
            }

            _order.Enqueue(id);
            if (_order.Count > capacity)
            {
                _seen.Remove(_order.Dequeue());
            }

            if (SnowflakeIdComparer.IsNewer(id, _newest))
            {
                _newest = id;
            }

            return true;
        }
    }
}
