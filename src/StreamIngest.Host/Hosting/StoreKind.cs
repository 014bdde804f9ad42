namespace StreamIngest.Host.Hosting;

public enum StoreKind
{
    /// <summary>SQLite file under Store:DataPath (embedded default).</summary>
    Sqlite,

    /// <summary>Azure Cosmos DB for NoSQL (Cosmos:* settings).</summary>
    Cosmos,
}
