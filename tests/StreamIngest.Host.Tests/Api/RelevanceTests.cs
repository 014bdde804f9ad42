using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StreamIngest.Tests;
using Xunit.Abstractions;

namespace StreamIngest.Host.Tests.Api;

/// <summary>
/// Relevance on real labelled tweets (CrisisLex T6, 2013 Alberta floods): ingest on-topic and off-topic
/// tweets of the event, ask about it, and require most of the top 10 to be on-topic.
/// </summary>
public sealed class RelevanceTests(ITestOutputHelper output)
{
    private const int PerLabel = 250;

    [SkippableFact]
    public async Task Search_CrisisLexAlbertaFloods_MostOfTop10AreOnTopic()
    {
        Skip.IfNot(TestPaths.HasSharedFixtures, TestPaths.NoFixtures);
        var rows = ReadCsv(TestPaths.Fixture("crisislex-t6", "2013_Alberta_Floods", "2013_Alberta_Floods-ontopic_offtopic.csv")).Skip(1).ToList();
        var on = rows.Where(r => r[2] == "on-topic").Take(PerLabel).ToList();
        var off = rows.Where(r => r[2] == "off-topic").Take(PerLabel).ToList();
        var labels = on.Concat(off).ToDictionary(r => "crisislex:" + r[0].Trim('\''), r => r[2]);
        var dir = TestPaths.NewTempDir();
        var rng = new Random(11);
        var lines = on.Concat(off).OrderBy(_ => rng.Next()).Select((r, i) => (object)new
        {
            source = "crisislex",
            id = r[0].Trim('\''),
            text = r[1],
            created_at = DateTimeOffset.UtcNow.AddMinutes(-(i % 60)).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            author = "user",
        });
        await using var host = new StreamIngestHost(dir, ReplayFile.Write(dir, lines));
        await host.WaitForProcessedAsync(2 * PerLabel, TimeSpan.FromMinutes(3));
        using var client = host.CreateClient();

        var response = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=" + Uri.EscapeDataString("flooding in Alberta, evacuations in Calgary") + "&window=PT2H&k=10");

        var ids = response.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
        var onTopic = ids.Count(id => labels[id] == "on-topic");
        output.WriteLine($"CrisisLex Alberta floods: {onTopic} of top {ids.Count} on-topic ({PerLabel} on-topic + {PerLabel} off-topic ingested)");
        Assert.Equal(10, ids.Count);
        Assert.True(onTopic >= 8, $"only {onTopic} of the top 10 are on-topic");

        // The relevance estimate (fitted on CrisisNLP, never on CrisisLex) on the top 50, and an off-topic question's top 10.
        var wide = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=" + Uri.EscapeDataString("flooding in Alberta, evacuations in Calgary") + "&window=PT2H&k=50&collapse=false");
        var unrelated = await client.GetFromJsonAsync<JsonElement>("/v1/search?q=" + Uri.EscapeDataString("new phone launch and its camera") + "&window=PT2H&k=10&collapse=false");
        var estimates = wide.GetProperty("results").EnumerateArray().Select(r => (Relevance: r.GetProperty("score").GetProperty("relevance").GetDouble(), On: labels[r.GetProperty("id").GetString()!] == "on-topic")).ToList();
        var mean = estimates.Average(e => e.Relevance);
        var observed = estimates.Average(e => e.On ? 1.0 : 0.0);
        var unrelatedBest = unrelated.GetProperty("results").EnumerateArray().Max(r => r.GetProperty("score").GetProperty("relevance").GetDouble());
        output.WriteLine($"top 50: mean estimated relevance {mean:F3}, share on-topic {observed:F3}; an unrelated question's best estimate {unrelatedBest:F3}");
        // Out of the domain it was fitted in, the estimate errs low (0.43 against 0.98 here: a short topical query scores
        // lower cosines than the bench's questions), never high: a threshold drops some relevant posts, it does not let
        // unrelated ones through.
        Assert.True(mean <= observed + 0.1, $"over-confident: mean estimate {mean:F3}, on-topic share {observed:F3}");
        Assert.True(mean >= 0.2, $"mean estimate {mean:F3} for a top 50 that is {observed:P0} on-topic");
        Assert.True(unrelatedBest < 0.05, $"an unrelated question's best result is estimated {unrelatedBest:F3}");
    }

    /// <summary>RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes.</summary>
    private static IEnumerable<string[]> ReadCsv(string path)
    {
        var text = File.ReadAllText(path);
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    row.Add(field.ToString().Trim());
                    field.Clear();
                    break;
                case '\n':
                    row.Add(field.ToString().Trim());
                    field.Clear();
                    if (row.Count >= 3)
                    {
                        yield return [.. row];
                    }

                    row = [];
                    break;
                case '\r':
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }

        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString().Trim());
            if (row.Count >= 3)
            {
                yield return [.. row];
            }
        }
    }
}
