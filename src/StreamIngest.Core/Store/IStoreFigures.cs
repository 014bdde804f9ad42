namespace StreamIngest.Store;

/// <summary>
/// What a store reports about itself beyond its post count, for <c>/v1/stats</c> and the status line: how many posts
/// its own search index holds (null when the service searches, as Cosmos DB does), and what its requests cost
/// (null where nothing is charged per request).
/// </summary>
public interface IStoreFigures
{
    int? Searchable { get; }

    double? RuPerPost { get; }

    double? RuPerQuery { get; }

    /// <summary>Posts the store's HNSW graph holds so far (null where it keeps none: below its threshold, or not its design).</summary>
    int? GraphRows => null;
}
