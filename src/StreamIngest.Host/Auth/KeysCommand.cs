using System.Text.Json;
using StreamIngest.Azure.Cosmos;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Store;

namespace StreamIngest.Host.Auth;

/// <summary>
/// <c>keys create --name N --scopes search,ground [--requests-per-minute 600]</c> (prints the key once: only its
/// hash is kept), <c>keys list</c>, <c>keys revoke ID</c>. Works on the store the host's configuration names
/// (<c>Store:DataPath</c>, or Cosmos DB with <c>StoreKind=Cosmos</c> and its <c>Cosmos:*</c> settings; any
/// <c>--Key=value</c> setting after the command), also while the host runs.
/// </summary>
public static class KeysCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var settings = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)).ToArray();
        var configuration = WebApplication.CreateBuilder(settings).Configuration;
        var rest = args.Except(settings).ToArray();
        using var db = AuthExtensions.KeysInCosmos(configuration) ? null : new SqliteDatabase(AuthExtensions.KeysFile(configuration));
        var cosmosOptions = configuration.GetSection(CosmosOptions.Section).Get<CosmosOptions>() ?? new CosmosOptions();
        using var cosmos = db is null ? CosmosClientFactory.Create(cosmosOptions, new global::Azure.Identity.DefaultAzureCredential(), bulk: false) : null;
        IApiKeyStore store = db is not null
            ? new SqliteApiKeyStore(db)
            : new CosmosApiKeyStore(cosmos!.GetContainer(cosmosOptions.Database, cosmosOptions.StateContainer));
        switch (rest)
        {
            case ["create", ..]:
                var name = Option(rest, "--name");
                var scopes = (Option(rest, "--scopes") ?? "search").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var unknown = scopes.Except(Scopes.All).ToArray();
                if (string.IsNullOrWhiteSpace(name) || unknown.Length > 0 || scopes.Length == 0)
                {
                    await Console.Error.WriteLineAsync($"keys create needs --name and --scopes from {string.Join(", ", Scopes.All)}{(unknown.Length > 0 ? $" (unknown: {string.Join(", ", unknown)})" : "")}");
                    return 2;
                }

                var perMinute = int.TryParse(Option(rest, "--requests-per-minute"), out var rpm) && rpm > 0
                    ? rpm
                    : configuration.GetValue("Auth:DefaultRequestsPerMinute", new AuthOptions().DefaultRequestsPerMinute);
                var (key, record) = ApiKeys.Create(name, scopes, perMinute, DateTimeOffset.UtcNow);
                await store.AddAsync(record, CancellationToken.None);
                await Console.Error.WriteLineAsync($"created {record.Id} ({name}: {string.Join(", ", scopes)}, {perMinute}/min). The key is shown once; keep it secret:");
                Console.WriteLine(key);
                return 0;
            case ["list"]:
                foreach (var k in await store.ListAsync(CancellationToken.None))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { k.Id, k.Name, k.Scopes, k.RequestsPerMinute, k.CreatedAt, k.RevokedAt }));
                }

                return 0;
            case ["revoke", var id]:
                if (await store.RevokeAsync(id, DateTimeOffset.UtcNow, CancellationToken.None))
                {
                    await Console.Error.WriteLineAsync($"revoked {id}");
                    return 0;
                }

                await Console.Error.WriteLineAsync($"no active key {id}");
                return 1;
            default:
                await Console.Error.WriteLineAsync("usage: keys create --name N --scopes search,ground,watches,admin [--requests-per-minute N] | keys list | keys revoke ID");
                return 2;
        }
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
