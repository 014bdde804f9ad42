using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamIngest.Embed;
using StreamIngest.Embedded.Keywords;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Hosting;
using StreamIngest.Pipeline;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Watches;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// Registers the embedded store behind the store ports: one SQLite file (posts, FTS5, dead letters, cursors, counts,
/// watches), the in-memory int8 vector index and BM25 keyword index rebuilt from it at start, and the <c>sqlite</c>
/// readiness check.
/// </summary>
public static class SqliteStoreRegistration
{
    /// <param name="shortlistStories">The retriever's <see cref="SqliteRetriever.ShortlistStories"/> from the host's search settings.</param>
    /// <param name="retriever">Wraps the store's retriever (e.g. the relevance floor).</param>
    public static void AddSqliteStore(this IHostApplicationBuilder builder, Func<IServiceProvider, int>? shortlistStories = null, Func<IServiceProvider, IRetriever, IRetriever>? retriever = null)
    {
        builder.Services.AddOptions<SqliteOptions>().BindConfiguration(SqliteOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SqliteOptions>>(new SectionValidator<SqliteOptions>(SqliteOptions.Section));
        builder.Services.AddSingleton(sp => new SqliteDatabase(sp.GetRequiredService<IOptions<SqliteOptions>>().Value.DatabasePath));
        // The in-memory vector index and keyword index (BM25 with early termination), filled from the file at start
        // (SqliteStoreStartup, before any worker: re-embedding after a model change first).
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<SqliteOptions>>().Value.NewVectorIndex(sp.GetRequiredService<IEmbedder>().Dimensions));
        builder.Services.AddSingleton<KeywordIndex>();
        builder.Services.AddHostedService<SqliteStoreStartup>();
        builder.Services.AddSingleton<IPostStore, SqlitePostStore>();
        builder.Services.AddSingleton<IStoreFigures>(sp => new VectorIndexFigures(sp.GetRequiredService<Int8VectorIndex>()));
        builder.Services.AddSingleton<SqliteDeadLetterStore>();
        builder.Services.AddSingleton<IDeadLetterStore>(sp => new MeteredDeadLetterStore(sp.GetRequiredService<SqliteDeadLetterStore>(), sp.GetRequiredService<PipelineMetrics>()));
        builder.Services.AddSingleton<ICursorStore, SqliteCursorStore>();
        builder.Services.AddSingleton<IRetriever>(sp =>
        {
            var store = new SqliteRetriever(
                sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<Int8VectorIndex>(), sp.GetRequiredService<IEmbedder>(), sp.GetRequiredService<HybridRanker>(),
                sp.GetRequiredService<KeywordIndex>())
            {
                ShortlistStories = shortlistStories?.Invoke(sp) ?? SqliteRetriever.DefaultShortlistStories,
            };
            return retriever is null ? store : retriever(sp, store);
        });
        builder.Services.AddSingleton<IPostReader, SqlitePostReader>();
        builder.Services.AddSingleton<IEntityCountStore, SqliteEntityCountStore>();
        builder.Services.AddSingleton<IWatchStore, SqliteWatchStore>();
        builder.Services.AddHealthChecks().AddCheck<SqliteHealthCheck>("sqlite", tags: ["ready"]);
    }
}

/// <summary>The SQLite file answers a trivial query.</summary>
internal sealed class SqliteHealthCheck(SqliteDatabase db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = db.Open();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT 1";
            await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            return HealthCheckResult.Unhealthy("SQLite store is not reachable", ex);
        }
    }
}
