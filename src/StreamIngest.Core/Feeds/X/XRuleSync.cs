using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamIngest.Feeds.Parsing;

namespace StreamIngest.Feeds.X;

/// <summary>Makes the filtered stream's rules on the server match configuration: adds the missing, deletes the extra (when pruning).</summary>
public sealed partial class XRuleSync(XOptions options, XApiClient api, ILogger logger)
{
    public async Task SyncAsync(CancellationToken ct)
    {
        const string Rules = "/2/tweets/search/stream/rules";
        using var list = await api.SendAsync(HttpMethod.Get, Rules, null, ct).ConfigureAwait(false);
        var existing = new List<(string Id, string Value)>();
        using (var doc = JsonDocument.Parse(await list.Content.ReadAsStringAsync(ct).ConfigureAwait(false)))
        {
            foreach (var r in doc.RootElement.Arr("data"))
            {
                if (r.Str("id") is { } id && r.Str("value") is { } value)
                {
                    existing.Add((id, value));
                }
            }
        }

        var add = options.Rules.Where(r => existing.All(e => e.Value != r.Value)).ToList();
        if (add.Count > 0)
        {
            using var _ = await api.SendAsync(HttpMethod.Post, Rules, new { add = add.Select(r => new { value = r.Value, tag = r.Tag }) }, ct).ConfigureAwait(false);
        }

        var delete = options.PruneRules ? existing.Where(e => options.Rules.All(r => r.Value != e.Value)).Select(e => e.Id).ToList() : [];
        if (delete.Count > 0)
        {
            using var _ = await api.SendAsync(HttpMethod.Post, Rules, new { delete = new { ids = delete } }, ct).ConfigureAwait(false);
        }

        LogRulesSynced(existing.Count, add.Count, delete.Count);
    }

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "X rules: {Existing} on the server, {Added} added, {Deleted} deleted")]
    private partial void LogRulesSynced(int existing, int added, int deleted);
}
