using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamIngest.Embed;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Vectors;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// The embedded store's start-up, before any worker runs and before the server takes a request: the stored posts are
/// embedded again when the model changed since the file was written, then the in-memory vector and keyword indexes
/// are filled from the file. Asynchronous work in <see cref="StartAsync"/>, not in a singleton's factory.
/// </summary>
public sealed partial class SqliteStoreStartup(SqliteDatabase db, IEmbedder embedder, Int8VectorIndex index, KeywordIndex keywords, ILogger<SqliteStoreStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await SqlitePostStore.LoadIndexAsync(db, embedder, index, cancellationToken).ConfigureAwait(false);
        SqlitePostStore.LoadKeywordIndex(db, keywords);
        LogLoaded(index.Count, keywords.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Embedded store loaded: {Vectors} vectors and {Posts} posts' words in memory in {Milliseconds:F0} ms")]
    private partial void LogLoaded(int vectors, int posts, double milliseconds);
}
