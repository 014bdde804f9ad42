namespace StreamIngest.Retrieve;

/// <summary>
/// Where a search's time went, stage by stage (milliseconds), so an operator can tell a slow model from a slow scan or
/// slow reads. A store reports the stages it has; they run one after the other unless a store says otherwise.
/// </summary>
public static class SearchStages
{
    /// <summary>Turning the question into a vector (the model, or its cache).</summary>
    public const string Embed = "embed";

    /// <summary>The approximate vector list (the in-memory index's scan).</summary>
    public const string Vector = "vector";

    /// <summary>The keyword (BM25) list.</summary>
    public const string Keyword = "keyword";

    /// <summary>Reading the candidates' documents and stored vectors for exact scores.</summary>
    public const string Read = "read";

    /// <summary>A store's own query that computes both lists and fuses them (Cosmos DB).</summary>
    public const string Query = "query";

    /// <summary>Fusion, recency, engagement, collapsing duplicates and preparing the hits.</summary>
    public const string Rank = "rank";
}

/// <summary>Times consecutive stages of one search: each <see cref="Lap"/> charges the time since the previous one to a stage.</summary>
public sealed class SearchStageTimer(TimeProvider timeProvider)
{
    private readonly Dictionary<string, double> _ms = new(6, StringComparer.Ordinal);
    private long _last = timeProvider.GetTimestamp();

    /// <summary>Charges the time since the last lap (or since this timer was made) to <paramref name="stage"/>.</summary>
    public void Lap(string stage)
    {
        var now = timeProvider.GetTimestamp();
        _ms[stage] = _ms.GetValueOrDefault(stage) + timeProvider.GetElapsedTime(_last, now).TotalMilliseconds;
        _last = now;
    }

    public IReadOnlyDictionary<string, double> Stages => _ms;
}
