using System.Collections.Concurrent;

namespace StreamIngest.Feeds.Health;

/// <summary>One trending item as a platform reports it (a tag, a topic, a link).</summary>
public sealed record Trend(string Name, string Kind, long? Volume, string? Url);

public sealed record TrendSnapshot(string Source, DateTimeOffset At, IReadOnlyList<Trend> Trends);

/// <summary>The latest trends each source reported (X by WOEID, Mastodon tags and links), for <c>/v1/trends</c>.</summary>
public sealed class TrendRegistry
{
    private readonly ConcurrentDictionary<string, TrendSnapshot> _latest = new(StringComparer.Ordinal);

    public void Record(TrendSnapshot snapshot) => _latest[snapshot.Source] = snapshot;

    public IReadOnlyList<TrendSnapshot> Latest() => [.. _latest.Values.OrderBy(s => s.Source, StringComparer.Ordinal)];
}
