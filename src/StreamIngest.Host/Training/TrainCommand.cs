using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Enrich;
using StreamIngest.Enrich.Signals;
using StreamIngest.Model;

namespace StreamIngest.Host.Training;

/// <summary>
/// <c>train signals</c>: data in, weights out, scores printed. Embeds the labelled corpora in
/// <c>../shared/fixtures</c> with the pipeline's own embedder, fits the sentiment, finance, offensive and hate
/// heads, measures each on data it was not fitted on (5-fold cross-validation, or the corpus's validation
/// split), writes the heads with their provenance and scores to <c>--out</c>, and prints one JSON line.
/// </summary>
public static class TrainCommand
{
    private static readonly string[] SentimentClasses = ["negative", "neutral", "positive"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] != "signals")
        {
            await Console.Error.WriteLineAsync("usage: train signals [--model minilm|arctic-xs] [--fixtures ../shared/fixtures] [--out src/StreamIngest.Host/models/signals-{model}.json] [--cache DIR]");
            return 2;
        }

        var root = RepoRoot();
        var fixtures = Option(args, "--fixtures") ?? Path.Combine(root, "..", "shared", "fixtures");
        var modelKey = Option(args, "--model") ?? SentenceModel.MiniLm.Key;
        var output = Option(args, "--out") ?? Path.Combine(root, "src", "StreamIngest.Host", "models", $"signals-{modelKey}.json");
        if (!Directory.Exists(fixtures))
        {
            await Console.Error.WriteLineAsync($"fixtures folder '{Path.GetFullPath(fixtures)}' not found (--fixtures)");
            return 2;
        }

        var clock = Stopwatch.StartNew();
        using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = modelKey, MaxBatch = 32 });
        var cache = Option(args, "--cache");
        async Task<List<float[]>> EmbedAsync(IReadOnlyList<string> texts, string what)
        {
            // --cache DIR keeps the vectors between runs (keyed by the texts), for trying heads without re-embedding.
            var key = cache is null ? null : Path.Combine(cache, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(modelKey + "\n" + string.Join("\n", texts))))[..16] + ".bin");
            if (key is not null && File.Exists(key))
            {
                var bytes = await File.ReadAllBytesAsync(key);
                var d = bytes.Length / 4 / texts.Count;
                return [.. Enumerable.Range(0, texts.Count).Select(i => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(i * d * 4, d * 4)).ToArray())];
            }

            var vectors = new List<float[]>(texts.Count);
            for (var i = 0; i < texts.Count; i += 256)
            {
                vectors.AddRange(await embedder.EmbedAsync([.. texts.Skip(i).Take(256).Select(Clean)], CancellationToken.None));
            }

            await Console.Error.WriteLineAsync($"embedded {texts.Count} {what} ({clock.Elapsed.TotalSeconds:F0} s)");
            if (key is not null)
            {
                Directory.CreateDirectory(cache!);
                await File.WriteAllBytesAsync(key, [.. vectors.SelectMany(v => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray())]);
            }

            return vectors;
        }

        string Te(string task, string file) => Path.Combine(fixtures, "tweeteval", task, file);

        // Finance: SemEval-2017 task 5 cashtag scores in [-1, 1] (message text where the fixture has it, else the spans).
        var (finTexts, finScores) = LoadSemEval(Path.Combine(fixtures, "semeval2017-fin-microblogs"));
        var finX = await EmbedAsync(finTexts, "SemEval-2017 financial microblogs");
        // Sentiment: TweetEval sentiment (validation split, the part in the fixtures), 5-fold cross-validation.
        var sentTexts = File.ReadAllLines(Te("sentiment", "val_text.txt"));
        var sentLabels = File.ReadAllLines(Te("sentiment", "val_labels.txt")).Select(int.Parse).ToArray();
        var sentX = await EmbedAsync(sentTexts, "TweetEval sentiment posts");
        var lexicon = !args.Contains("--no-lexicon");
        if (lexicon)
        {
            sentX = [.. sentX.Select((v, i) => SentimentLexicon.Concat(v, Clean(sentTexts[i])))];
        }
        var l2 = double.Parse(Option(args, "--l2") ?? "1e-3", CultureInfo.InvariantCulture);
        var epochs = int.Parse(Option(args, "--epochs") ?? "200", CultureInfo.InvariantCulture);
        // Optionally add the finance microblogs as extra training examples (score > 0.2 positive, < -0.2 negative, else neutral);
        // only ever to the training folds, so the measurement stays on TweetEval posts the head has not seen.
        var augment = args.Contains("--augment-finance");
        var extraX = augment ? [.. finX.Select((v, i) => lexicon ? SentimentLexicon.Concat(v, Clean(finTexts[i])) : v)] : new List<float[]>();
        var extraY = augment ? finScores.Select(v => v > 0.2 ? 2 : v < -0.2 ? 0 : 1).ToArray() : [];
        var sentCv = CrossValidate(sentX, sentLabels, 5, (x, y) => LinearTrainer.Softmax([.. x, .. extraX], [.. y, .. extraY], SentimentClasses, l2, epochs), (h, v) => ArgMax(h.Probabilities(v)));
        await Console.Error.WriteLineAsync($"sentiment 5-fold (l2 {l2}, {epochs} epochs): {JsonSerializer.Serialize(sentCv)}");
        var sentimentScores = new Dictionary<string, Dictionary<string, double>> { ["sentiment_tweeteval_5fold"] = sentCv };

        // --tweeteval DIR: the TweetEval repository's datasets folder (github.com/cardiffnlp/tweeteval), whose
        // sentiment test split (12,284 tweets) the fixtures do not carry: the head fitted on the fixtures' validation
        // split is also scored there, on the split the published baselines report. The reverse (fitted on test,
        // scored on validation) is printed too; it generalises worse (0.568 against 0.633 here), so the shipped head
        // stays fitted on the validation split.
        var tweeteval = Option(args, "--tweeteval");
        if (tweeteval is not null)
        {
            var testTexts = File.ReadAllLines(Path.Combine(tweeteval, "sentiment", "test_text.txt"));
            var testLabels = File.ReadAllLines(Path.Combine(tweeteval, "sentiment", "test_labels.txt")).Select(int.Parse).ToArray();
            var testX = await EmbedAsync(testTexts, "TweetEval sentiment test posts");
            if (lexicon)
            {
                testX = [.. testX.Select((v, i) => SentimentLexicon.Concat(v, Clean(testTexts[i])))];
            }

            var onTest = Score(LinearTrainer.Softmax(sentX, sentLabels, SentimentClasses, l2, epochs), testX, testLabels);
            var onVal = Score(LinearTrainer.Softmax(testX, testLabels, SentimentClasses, l2, epochs), sentX, sentLabels);
            await Console.Error.WriteLineAsync($"sentiment fitted on validation, scored on test: {JsonSerializer.Serialize(onTest)}");
            await Console.Error.WriteLineAsync($"sentiment fitted on test, scored on validation: {JsonSerializer.Serialize(onVal)}");
            sentimentScores["sentiment_tweeteval_test"] = onTest;
        }

        if (args.Contains("--sentiment-only"))
        {
            return 0;
        }

        var sentiment = LinearTrainer.Softmax([.. sentX, .. extraX], [.. sentLabels, .. extraY], SentimentClasses, l2, epochs);

        var finPredicted = new double[finX.Count];
        var finGeneral = new double[finX.Count];
        foreach (var (train, test) in Folds(finX.Count, 5))
        {
            var head = LinearTrainer.Ridge([.. train.Select(i => finX[i])], [.. train.Select(i => finScores[i])]);
            foreach (var i in test)
            {
                finPredicted[i] = head.Value(finX[i]);
            }
        }

        for (var i = 0; i < finX.Count; i++)
        {
            var p = sentiment.Probabilities(lexicon ? SentimentLexicon.Concat(finX[i], Clean(finTexts[i])) : finX[i]);
            finGeneral[i] = p[2] - p[0]; // the general head, not trained on finance
        }

        var finance = LinearTrainer.Ridge(finX, finScores);

        // Offensive and hate: TweetEval training splits to fit, validation splits to measure.
        var offTrain = await EmbedAsync(File.ReadAllLines(Te("offensive", "train_text.txt")), "TweetEval offensive (train)");
        var offTrainY = File.ReadAllLines(Te("offensive", "train_labels.txt")).Select(l => l.Trim() == "1").ToArray();
        var offVal = await EmbedAsync(File.ReadAllLines(Te("offensive", "val_text.txt")), "TweetEval offensive (validation)");
        var offValY = File.ReadAllLines(Te("offensive", "val_labels.txt")).Select(l => l.Trim() == "1").ToArray();
        var offensive = LinearTrainer.Binary(offTrain, offTrainY, "offensive");

        var hateTrain = await EmbedAsync(File.ReadAllLines(Te("hate", "train_text.txt")), "TweetEval hate (train)");
        var hateTrainY = File.ReadAllLines(Te("hate", "train_labels.txt")).Select(l => l.Trim() == "1").ToArray();
        var hateVal = await EmbedAsync(File.ReadAllLines(Te("hate", "val_text.txt")), "TweetEval hate (validation)");
        var hateValY = File.ReadAllLines(Te("hate", "val_labels.txt")).Select(l => l.Trim() == "1").ToArray();
        var hate = LinearTrainer.Binary(hateTrain, hateTrainY, "hate");

        var scores = new Dictionary<string, Dictionary<string, double>>(sentimentScores)
        {
            ["finance_semeval2017_5fold"] = new()
            {
                ["cosine"] = Round(Cosine(finPredicted, finScores)),
                ["cosine_general_head"] = Round(Cosine(finGeneral, finScores)),
                ["n"] = finScores.Length,
            },
            ["offensive_tweeteval_validation"] = Binary(offensive, offVal, offValY),
            ["hate_tweeteval_validation"] = Binary(hate, hateVal, hateValY),
        };
        var model = new SignalModel
        {
            EmbeddingModel = embedder.Model,
            Data = new()
            {
                ["sentiment"] = $"TweetEval sentiment validation split ({sentTexts.Length} tweets, Rosenthal et al. SemEval-2017 task 4 via Barbieri et al. 2020)",
                ["finance"] = $"SemEval-2017 task 5 subtask 1 microblogs ({finTexts.Count} cashtag scores, Cortis et al. 2017)",
                ["offensive"] = $"TweetEval offensive training split ({offTrain.Count} tweets, OLIDv1, Zampieri et al. 2019)",
                ["hate"] = $"TweetEval hate training split ({hateTrain.Count} tweets, SemEval-2019 task 5, Basile et al. 2019)",
                ["trained"] = "train signals (src/StreamIngest.Host/Training)",
            },
            Scores = scores,
            SentimentReadsLexicon = lexicon,
            Sentiment = sentiment,
            Finance = finance,
            Offensive = offensive,
            Hate = hate,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(model, PostJson.Options));
        await Console.Error.WriteLineAsync($"wrote {output} ({new FileInfo(output).Length / 1024} KiB) in {clock.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine(JsonSerializer.Serialize(new JsonObject { ["model"] = embedder.Model, ["scores"] = JsonSerializer.SerializeToNode(scores) }));
        return 0;
    }

    /// <summary>The text the pipeline would embed: the same clean-up as the enrichment stage.</summary>
    private static string Clean(string text)
    {
        var t = TextNormalizer.Normalize(HtmlText.LooksLikeHtml(text) ? HtmlText.ToPlainText(text) : text);
        return t.Length == 0 ? " " : t;
    }

    private static (List<string> Texts, double[] Scores) LoadSemEval(string dir)
    {
        var texts = new List<string>();
        var scores = new List<double>();
        var full = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in new[] { "Microblog_Trainingdata-twitter_full.json", "Microblog_Trainingdata-stocktwits_full.json" })
        {
            foreach (var item in JsonNode.Parse(File.ReadAllText(Path.Combine(dir, file)))!.AsArray())
            {
                var id = item!["id"]!.ToString();
                var text = item["text"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
                var message = item["message"] switch
                {
                    JsonObject o => o["body"]?.ToString(),
                    JsonValue v when v.TryGetValue<string>(out var m) => m,
                    _ => null,
                };
                if (text is null && message is not null)
                {
                    // The StockTwits file keeps the message as a Python repr string: take its 'body'.
                    var at = message.IndexOf("'body': ", StringComparison.Ordinal);
                    if (at < 0)
                    {
                        text = message;
                    }
                    else
                    {
                        var quote = message[at + 8];
                        var rest = message[(at + 9)..];
                        var end = rest.IndexOf(quote + ", '", StringComparison.Ordinal);
                        text = end > 0 ? rest[..end] : rest;
                    }
                }

                if (!string.IsNullOrWhiteSpace(text))
                {
                    full[id] = text;
                }
            }
        }

        foreach (var item in JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "Microblog_Trainingdata.json")))!.AsArray())
        {
            var id = item!["id"]!.ToString();
            var spans = item["spans"] is JsonArray a ? string.Join(" ", a.Select(x => x?.ToString())) : item["spans"]?.ToString() ?? string.Empty;
            texts.Add(full.TryGetValue(id, out var text) ? text : $"{item["cashtag"]} {spans}");
            scores.Add(double.Parse(item["sentiment score"]!.ToString(), CultureInfo.InvariantCulture));
        }

        return (texts, [.. scores]);
    }

    private static Dictionary<string, double> CrossValidate(List<float[]> x, int[] y, int folds, Func<List<float[]>, int[], LinearHead> fit, Func<LinearHead, float[], int> predict)
    {
        var predicted = new int[x.Count];
        foreach (var (train, test) in Folds(x.Count, folds))
        {
            var head = fit([.. train.Select(i => x[i])], [.. train.Select(i => y[i])]);
            foreach (var i in test)
            {
                predicted[i] = predict(head, x[i]);
            }
        }

        return Metrics(y, predicted);
    }

    /// <summary>A softmax head's macro-recall, macro-F1 and accuracy on labelled posts it was not fitted on.</summary>
    private static Dictionary<string, double> Score(LinearHead head, List<float[]> x, int[] y) =>
        Metrics(y, [.. x.Select(v => ArgMax(head.Probabilities(v)))]);

    private static Dictionary<string, double> Metrics(int[] y, int[] predicted)
    {
        var k = y.Max() + 1;
        var recall = new double[k];
        var f1 = new double[k];
        for (var c = 0; c < k; c++)
        {
            double tp = Enumerable.Range(0, y.Length).Count(i => y[i] == c && predicted[i] == c);
            double fn = Enumerable.Range(0, y.Length).Count(i => y[i] == c && predicted[i] != c);
            double fp = Enumerable.Range(0, y.Length).Count(i => y[i] != c && predicted[i] == c);
            recall[c] = tp / Math.Max(1, tp + fn);
            var precision = tp / Math.Max(1, tp + fp);
            f1[c] = precision + recall[c] == 0 ? 0 : 2 * precision * recall[c] / (precision + recall[c]);
        }

        return new()
        {
            ["macro_recall"] = Round(recall.Average()),
            ["macro_f1"] = Round(f1.Average()),
            ["accuracy"] = Round(Enumerable.Range(0, y.Length).Count(i => y[i] == predicted[i]) / (double)y.Length),
            ["n"] = y.Length,
        };
    }

    private static Dictionary<string, double> Binary(LinearHead head, List<float[]> x, bool[] y)
    {
        double tp = 0, fp = 0, fn = 0, tn = 0;
        for (var i = 0; i < x.Count; i++)
        {
            var yes = head.Probability(x[i]) >= head.Threshold;
            (tp, fp, fn, tn) = (yes, y[i]) switch
            {
                (true, true) => (tp + 1, fp, fn, tn),
                (true, false) => (tp, fp + 1, fn, tn),
                (false, true) => (tp, fp, fn + 1, tn),
                _ => (tp, fp, fn, tn + 1),
            };
        }

        var precision = tp / Math.Max(1, tp + fp);
        var recall = tp / Math.Max(1, tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        var negPrecision = tn / Math.Max(1, tn + fn);
        var negRecall = tn / Math.Max(1, tn + fp);
        var negF1 = negPrecision + negRecall == 0 ? 0 : 2 * negPrecision * negRecall / (negPrecision + negRecall);
        return new()
        {
            ["precision"] = Round(precision),
            ["recall"] = Round(recall),
            ["f1"] = Round(f1),
            ["macro_f1"] = Round((f1 + negF1) / 2),
            ["n"] = x.Count,
        };
    }

    private static IEnumerable<(int[] Train, int[] Test)> Folds(int n, int k)
    {
        var order = Enumerable.Range(0, n).OrderBy(i => (i * 2654435761u) % 1_000_003).ToArray(); // fixed shuffle: reproducible folds
        for (var f = 0; f < k; f++)
        {
            yield return ([.. order.Where((_, j) => j % k != f)], [.. order.Where((_, j) => j % k == f)]);
        }
    }

    private static int ArgMax(double[] p) => Array.IndexOf(p, p.Max());

    private static double Cosine(double[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    private static double Round(double v) => Math.Round(v, 4);

    /// <summary>The repository root (where StreamIngest.sln is), from the working directory up; <c>dotnet run</c> starts in the project folder.</summary>
    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StreamIngest.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
