using System.Globalization;
using System.Text.Json;
using StreamIngest.Embed;
using StreamIngest.Embedded.Onnx;
using StreamIngest.Embedded.Sqlite;
using StreamIngest.Embedded.Vectors;
using StreamIngest.Feeds.Replay;
using StreamIngest.Retrieve;

namespace StreamIngest.Bench;

/// <summary>
/// <c>bench relevance</c>: replays the CrisisNLP 2013–2015 tweets (12 real crises, each tweet crowd-labelled with
/// an information category) with their original times through the real pipeline, then asks, for each event and
/// category with at least <see cref="MinRelevant"/> labelled tweets, the question a monitoring user would ask
/// (<see cref="RelevanceQuestions"/>, written once, never tuned to the data). A result is relevant when its tweet
/// belongs to that event and category. Prints P@10 and nDCG@10 per mode, with and without the event's time window,
/// for each embedding model asked for, as one JSON line. The fixture stays outside the repository.
/// </summary>
internal static class RelevanceBench
{
    private const int MinRelevant = 10;
    private const int K = 10;

    public sealed record ModeScore(double PAt10, double NdcgAt10);

    /// <summary>
    /// Scores over all questions, over the tuning half of the incidents (where ranking choices are made) and over the
    /// held-out half (never used to choose a weight).
    /// </summary>
    public sealed record ModelResult(
        string Model, int Posts, double EmbedSeconds, Dictionary<string, ModeScore> Window, Dictionary<string, ModeScore> NoWindow,
        Dictionary<string, ModeScore> TuningWindow, Dictionary<string, ModeScore> TuningNoWindow,
        Dictionary<string, ModeScore> HeldOutWindow, Dictionary<string, ModeScore> HeldOutNoWindow, Dictionary<string, double> SignBitRecallAt10,
        FloorFit? Floor = null, CalibrationFit? Calibration = null, CalibrationCheck? Calibrated = null);

    /// <summary>The shipped calibration (<see cref="RelevanceCalibration"/>) on each half: its error, and precision within each band of the estimate.</summary>
    public sealed record CalibrationCheck(double KeywordWeight, double TuningEce, double HeldOutEce, IReadOnlyList<Band> TuningBands, IReadOnlyList<Band> HeldOutBands);

    /// <summary>
    /// The relevance floor at one vector score: hybrid P@10 in the event's window (an abstention scores 0), how often
    /// such an answerable question wrongly abstains, and how often a question asked in another incident's window
    /// (which holds none of its event's posts) rightly abstains; per half.
    /// </summary>
    public sealed record FloorScore(double Floor, double TuningPAt10, double TuningFalseAbstain, double TuningAbstainOutside, double HeldOutPAt10, double HeldOutFalseAbstain, double HeldOutAbstainOutside)
    {
        /// <summary>The least estimated relevance also required (0: none).</summary>
        public double MinEstimate { get; init; }
    }

    /// <summary>The grid, and the floor chosen on the tuning half: the most abstention outside with P@10 within 1% of no floor.</summary>
    public sealed record FloorFit(IReadOnlyList<FloorScore> Grid, double Chosen, FloorScore ChosenScore);

    /// <summary>One band of the calibrated relevance: how many results fell in it, their mean estimate, and how many were relevant.</summary>
    public sealed record Band(double From, double To, int Results, double MeanRelevance, double Precision);

    /// <summary>
    /// Per model, fitted on the tuning half only: the keyword weight (P@10 over the grid, window and none averaged) and
    /// the logistic map from the fused score to P(about the question's incident) over the top 10 of every tuning question,
    /// asked in its own window, with none, and in another incident's window. Scored on the held-out half: bands and
    /// expected calibration error.
    /// </summary>
    public sealed record CalibrationFit(
        IReadOnlyDictionary<string, double> KeywordWeightGrid, double KeywordWeight, double Slope, double Intercept,
        double TuningEce, double HeldOutEce, IReadOnlyList<Band> HeldOutBands, int TuningResults, int HeldOutResults);

    public sealed record Result(string Bench, int Questions, IReadOnlyList<ModelResult> Models, IReadOnlyList<MultilingualCheck.LanguageScore> Multilingual, IReadOnlyList<MultilingualCheck.HybridScore>? MultilingualHybrid = null);

    internal sealed record Labelled(string Event, string Category, DateTimeOffset CreatedAt);

    /// <summary>The CrisisNLP tweets' labels by tweet id, the questions asked of them, and each incident's time span.</summary>
    internal sealed record CrisisNlp(
        Dictionary<string, Labelled> Labels, List<RelevanceQuestions.Question> Questions, Dictionary<string, (DateTimeOffset Since, DateTimeOffset Until)> Windows);

    /// <summary>Reads the labelled tweets from the fixtures and writes them to <paramref name="replay"/> as a replay file at their original times.</summary>
    internal static CrisisNlp LoadCrisisNlp(string fixtures, string replay)
    {
        var path = Path.Combine(fixtures, "crisisnlp-2013-2015", "tweets.jsonl");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the bench needs {Path.GetFullPath(path)} (--fixtures DIR)", path);
        }

        var labels = new Dictionary<string, Labelled>(StringComparer.Ordinal);
        using (var writer = new StreamWriter(replay))
        {
            foreach (var line in File.ReadLines(path))
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var id = root.GetProperty("tweet_id").GetString()!;
                var createdAt = root.GetProperty("created_at").GetDateTimeOffset();
                if (!labels.TryAdd(id, new Labelled(root.GetProperty("event").GetString()!, root.GetProperty("category").GetString()!, createdAt)))
                {
                    continue; // a tweet labelled twice keeps its first label
                }

                writer.WriteLine(JsonSerializer.Serialize(new { source = "x", id, text = root.GetProperty("text").GetString(), created_at = createdAt, author = "crisisnlp" }));
            }
        }

        var questions = RelevanceQuestions.For(labels.Values.Select(l => (l.Event, l.Category)), MinRelevant);
        var windows = labels.Values.GroupBy(l => RelevanceQuestions.Incident(l.Event))
            .ToDictionary(g => g.Key, g => (Since: g.Min(l => l.CreatedAt), Until: g.Max(l => l.CreatedAt)), StringComparer.Ordinal);
        return new CrisisNlp(labels, questions, windows);
    }

    public static async Task<Result> RunAsync(string dir, Dictionary<string, string> options)
    {
        var fixtures = options.GetValueOrDefault("fixtures") ?? Path.Combine(StreamIngest.Training.TrainCommand.RepoRoot(), "..", "shared", "fixtures");
        if (options.GetValueOrDefault("only") == "multilingual")
        {
            using var minilm = new OnnxSentenceEmbedder(new EmbeddingOptions());
            var hybrid = await MultilingualCheck.HybridAsync(fixtures, dir, minilm, RelevanceCalibration.MiniLm, [1, 2, 3, 5]);
            return new Result("relevance", 0, [], MultilingualCheck.Run(fixtures), hybrid);
        }

        var replay = Path.Combine(dir, "crisisnlp.jsonl");
        var (labels, questions, windows) = LoadCrisisNlp(fixtures, replay);
        var relevant = questions.ToDictionary(q => q, q => labels.Count(kv => q.IsRelevant(kv.Value.Event, kv.Value.Category)));

        var models = (options.GetValueOrDefault("models") ?? SentenceModel.MiniLm.Key).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var results = new List<ModelResult>();
        foreach (var model in models)
        {
            BenchCommand.Progress($"{model}: replaying {labels.Count} CrisisNLP tweets through the pipeline");
            var precision = options.GetValueOrDefault("precision") ?? new EmbeddingOptions().Precision;
            using var embedder = new OnnxSentenceEmbedder(new EmbeddingOptions { Model = model, Precision = precision });
            // --store DIR keeps the replayed store between runs (one file per model and precision), for trying rankings.
            var keep = options.GetValueOrDefault("store");
            var file = Path.Combine(keep ?? dir, $"{model}-{precision}.db");
            var reuse = keep is not null && File.Exists(file);
            using var p = reuse ? null : new BenchCommand.Pipeline(file, embedder, embeddingKey: model);
            var elapsed = p is null ? TimeSpan.Zero : await p.ReplayAsync(new ReplayOptions { Path = replay, Timestamps = ReplayTimestamps.Original });
            using var db = reuse ? new SqliteDatabase(file) : null;
            var store = (Db: db ?? p!.Db, Index: db is null ? p!.Index : SqlitePostStore.LoadIndex(db, embedder.Dimensions), Keywords: db is null ? p!.Keywords : SqlitePostStore.LoadKeywordIndex(db));
            var clock = new SettableClock();
            var perQuestion = options.ContainsKey("per-question");
            var printed = new HashSet<string>(StringComparer.Ordinal);
            async Task<ModeScore> EvaluateAsync(RankingOptions ranking, SearchMode mode, bool windowed, Func<RelevanceQuestions.Question, bool> which)
            {
                var retriever = new SqliteRetriever(store.Db, store.Index, embedder, new HybridRanker(ranking, clock), store.Keywords);
                var scores = new List<(double P, double Ndcg)>();
                foreach (var q in questions.Where(which))
                {
                    var (since, until) = windows[RelevanceQuestions.Incident(q.Event)];
                    clock.Now = until; // asked as the event's last labelled tweet arrives
                    var result = await retriever.SearchAsync(new SearchQuery
                    {
                        Text = q.Text, K = K, Mode = mode, Since = windowed ? since : null, Until = windowed ? until : null,
                    }, CancellationToken.None);
                    var gains = result.Hits.Select(h => labels.TryGetValue(h.Post.NativeId, out var l) && q.IsRelevant(l.Event, l.Category) ? 1.0 : 0.0).ToArray();
                    scores.Add((gains.Sum() / K, Ndcg(gains, relevant[q])));
                    var line = $"question\t{mode}{(mode == SearchMode.Hybrid ? $"-{ranking.Fusion}" : string.Empty)}\t{(windowed ? "window" : "none")}\t{(RelevanceQuestions.IsTuning(q) ? "tuning" : "held-out")}\t{gains.Sum() / K:F1}\t{q.Text}";
                    if (perQuestion && printed.Add(line))
                    {
                        // --per-question: each question's P@10 once, to see where one mode wins or loses against another.
                        BenchCommand.Progress(line);
                    }
                }

                return new ModeScore(Math.Round(scores.Average(s => s.P), 4), Math.Round(scores.Average(s => s.Ndcg), 4));
            }

            if (options.ContainsKey("grid"))
            {
                // Choosing ranking weights: only on the tuning half of the incidents, never the held-out half.
                foreach (var kw in new[] { 0.0, 0.05, 0.1, 0.2, 0.3, 0.5 })
                {
                    foreach (var rw in new[] { 0.0, 0.1, 0.2, 0.5 })
                    {
                        var o = new RankingOptions { KeywordWeight = kw, RecencyWeight = rw };
                        var w = await EvaluateAsync(o, SearchMode.Hybrid, true, RelevanceQuestions.IsTuning);
                        var nw = await EvaluateAsync(o, SearchMode.Hybrid, false, RelevanceQuestions.IsTuning);
                        BenchCommand.Progress($"grid keyword_weight {kw} recency_weight {rw}: window {w}, no window {nw}");
                    }
                }
            }

            // As the host ranks with this model: its fitted keyword weight and relevance estimate (RelevanceCalibration).
            var fitted = RelevanceCalibration.For(embedder.Model);
            var defaults = new RankingOptions { KeywordWeight = fitted?.KeywordWeight ?? new RankingOptions().KeywordWeight, Calibration = fitted, EnglishOnlyEmbedder = fitted is not null };

            var rrf = defaults with { Fusion = FusionMethod.Rrf };
            async Task<Dictionary<string, ModeScore>> ModesAsync(bool windowed, Func<RelevanceQuestions.Question, bool> which) => new()
            {
                ["keyword"] = await EvaluateAsync(defaults, SearchMode.Keyword, windowed, which),
                ["vector"] = await EvaluateAsync(defaults, SearchMode.Vector, windowed, which),
                ["hybrid"] = await EvaluateAsync(defaults, SearchMode.Hybrid, windowed, which),
                ["hybrid_rrf"] = await EvaluateAsync(rrf, SearchMode.Hybrid, windowed, which),
            };
            async Task<FloorScore> FloorAsync(double floor, double minEstimate = 0)
            {
                var retriever = new RelevanceFloor(new SqliteRetriever(store.Db, store.Index, embedder, new HybridRanker(defaults, clock), store.Keywords), floor, clock) { MinEstimate = minEstimate };
                var incidents = windows.OrderBy(w => w.Value.Since).Select(w => w.Key).ToList();
                var inside = new List<(bool Tuning, double P, bool Abstained)>();
                var outside = new List<(bool Tuning, bool Abstained)>();
                foreach (var q in questions)
                {
                    var incident = RelevanceQuestions.Incident(q.Event);
                    var (since, until) = windows[incident];
                    clock.Now = until;
                    var result = await retriever.SearchAsync(new SearchQuery { Text = q.Text, K = K, Mode = SearchMode.Hybrid, Since = since, Until = until }, CancellationToken.None);
                    var hits = result.Hits.Count(h => labels.TryGetValue(h.Post.NativeId, out var l) && q.IsRelevant(l.Event, l.Category));
                    inside.Add((RelevanceQuestions.IsTuning(q), (double)hits / K, result.Abstention is not null));

                    // The same question in the window of the next incident in time that does not overlap this one's.
                    var other = incidents.Select(i => (Incident: i, Window: windows[i])).FirstOrDefault(w => w.Incident != incident && (w.Window.Since > until || w.Window.Until < since) && w.Window.Since > since);
                    other = other.Incident is null ? incidents.Select(i => (Incident: i, Window: windows[i])).First(w => w.Incident != incident && (w.Window.Since > until || w.Window.Until < since)) : other;
                    clock.Now = other.Window.Until;
                    var away = await retriever.SearchAsync(new SearchQuery { Text = q.Text, K = K, Mode = SearchMode.Hybrid, Since = other.Window.Since, Until = other.Window.Until }, CancellationToken.None);
                    outside.Add((RelevanceQuestions.IsTuning(q), away.Abstention is not null));
                }

                double P(bool tuning) => Math.Round(inside.Where(x => x.Tuning == tuning).Average(x => x.P), 4);
                double False(bool tuning) => Math.Round(inside.Where(x => x.Tuning == tuning).Average(x => x.Abstained ? 1.0 : 0.0), 4);
                double Out(bool tuning) => Math.Round(outside.Where(x => x.Tuning == tuning).Average(x => x.Abstained ? 1.0 : 0.0), 4);
                var score = new FloorScore(floor, P(true), False(true), Out(true), P(false), False(false), Out(false)) { MinEstimate = minEstimate };
                BenchCommand.Progress($"floor {floor}, estimate {minEstimate}: {score}");
                return score;
            }

            // The next incident in time whose window does not overlap this one's: a window that holds none of the question's posts.
            var incidentsInTime = windows.OrderBy(w => w.Value.Since).Select(w => w.Key).ToList();
            (DateTimeOffset Since, DateTimeOffset Until) Away(string incident)
            {
                var (since, until) = windows[incident];
                var other = incidentsInTime.Select(i => (Incident: i, Window: windows[i])).FirstOrDefault(w => w.Incident != incident && (w.Window.Since > until || w.Window.Until < since) && w.Window.Since > since);
                other = other.Incident is null ? incidentsInTime.Select(i => (Incident: i, Window: windows[i])).First(w => w.Incident != incident && (w.Window.Since > until || w.Window.Until < since)) : other;
                return other.Window;
            }

            // The top 10's fused scores, each with whether it is relevant: in the question's window, with none, and in another incident's.
            async Task<List<(double Fused, bool Relevant)>> ScoredAsync(RankingOptions ranking, Func<RelevanceQuestions.Question, bool> which)
            {
                var retriever = new SqliteRetriever(store.Db, store.Index, embedder, new HybridRanker(ranking, clock), store.Keywords);
                var scored = new List<(double, bool)>();
                foreach (var q in questions.Where(which))
                {
                    var incident = RelevanceQuestions.Incident(q.Event);
                    var (since, until) = windows[incident];
                    var away = Away(incident);
                    foreach (var (from, to) in new (DateTimeOffset?, DateTimeOffset)[] { (since, until), (null, until), (away.Since, away.Until) })
                    {
                        clock.Now = to;
                        var result = await retriever.SearchAsync(new SearchQuery { Text = q.Text, K = K, Mode = SearchMode.Hybrid, Since = from, Until = from is null ? null : to }, CancellationToken.None);
                        // Relevant here: about the question's incident at all (its event, any category), what a reader means by
                        // "about this" and what abstaining asks; P@10 above keeps the stricter event-and-category match.
                        scored.AddRange(result.Hits.Select(h => (h.Score.Fused, labels.TryGetValue(h.Post.NativeId, out var l) && RelevanceQuestions.Incident(l.Event) == incident)));
                    }
                }

                return scored;
            }

            CalibrationFit? calibration = null;
            if (options.ContainsKey("fit"))
            {
                var weights = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var w in new[] { 0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2 })
                {
                    var o = new RankingOptions { KeywordWeight = w };
                    var pAt10 = ((await EvaluateAsync(o, SearchMode.Hybrid, true, RelevanceQuestions.IsTuning)).PAt10 + (await EvaluateAsync(o, SearchMode.Hybrid, false, RelevanceQuestions.IsTuning)).PAt10) / 2;
                    weights[w.ToString(CultureInfo.InvariantCulture)] = Math.Round(pAt10, 4);
                    BenchCommand.Progress($"{model} keyword_weight {w}: tuning P@10 {pAt10:F4}");
                }

                var chosen = weights.OrderByDescending(kv => kv.Value).ThenBy(kv => Math.Abs(double.Parse(kv.Key, CultureInfo.InvariantCulture) - 0.1)).First();
                var ranking = new RankingOptions { KeywordWeight = double.Parse(chosen.Key, CultureInfo.InvariantCulture) };
                var tuning = await ScoredAsync(ranking, RelevanceQuestions.IsTuning);
                var heldOut = await ScoredAsync(ranking, q => !RelevanceQuestions.IsTuning(q));
                var (slope, intercept) = Calibration.FitLogistic(tuning);
                calibration = new CalibrationFit(
                    weights, ranking.KeywordWeight, Math.Round(slope, 4), Math.Round(intercept, 4),
                    Calibration.Ece(tuning, slope, intercept), Calibration.Ece(heldOut, slope, intercept), Calibration.Bands(heldOut, slope, intercept), tuning.Count, heldOut.Count);
                BenchCommand.Progress($"{model} calibration: {JsonSerializer.Serialize(calibration)}");
            }

            CalibrationCheck? calibrated = null;
            if (fitted is not null)
            {
                var tuning = await ScoredAsync(defaults, RelevanceQuestions.IsTuning);
                var heldOut = await ScoredAsync(defaults, q => !RelevanceQuestions.IsTuning(q));
                calibrated = new CalibrationCheck(
                    fitted.KeywordWeight, Calibration.Ece(tuning, fitted.Slope, fitted.Intercept), Calibration.Ece(heldOut, fitted.Slope, fitted.Intercept),
                    Calibration.Bands(tuning, fitted.Slope, fitted.Intercept), Calibration.Bands(heldOut, fitted.Slope, fitted.Intercept));
            }

            FloorFit? fit = null;
            if (!options.ContainsKey("no-floor"))
            {
                var grid = new List<FloorScore>();
                foreach (var f in (options.GetValueOrDefault("floors") ?? "0,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5").Split(',').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)))
                {
                    grid.Add(await FloorAsync(f));
                }

                // --estimate-floors: the model's grounding floor with a least estimated relevance on top.
                var modelFloor = RelevanceFloor.DefaultFor(embedder.Model);
                foreach (var e in (options.GetValueOrDefault("estimate-floors") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)))
                {
                    grid.Add(await FloorAsync(modelFloor, e));
                }

                var none = grid[0];
                var chosen = grid.Where(g => g.TuningPAt10 >= none.TuningPAt10 * 0.99).OrderByDescending(g => g.TuningAbstainOutside).ThenBy(g => g.Floor).First();
                fit = new FloorFit(grid, chosen.Floor, chosen);
            }

            bool All(RelevanceQuestions.Question _) => true;
            bool HeldOut(RelevanceQuestions.Question q) => !RelevanceQuestions.IsTuning(q);
            results.Add(new ModelResult(
                embedder.Model, store.Index.Count, Math.Round(elapsed.TotalSeconds, 1),
                await ModesAsync(true, All), await ModesAsync(false, All),
                await ModesAsync(true, RelevanceQuestions.IsTuning), await ModesAsync(false, RelevanceQuestions.IsTuning),
                await ModesAsync(true, HeldOut), await ModesAsync(false, HeldOut),
                await SignBitRecallAsync(store.Db, embedder, questions),
                fit, calibration, calibrated));
            BenchCommand.Progress(JsonSerializer.Serialize(results[^1]));
        }

        return new Result("relevance", questions.Count, results, MultilingualCheck.Run(fixtures));
    }

    /// <summary>
    /// How well the vector index's sign-bit pass keeps the top ten on these real vectors: recall@10 of a search that
    /// keeps the nearest 0.1%, 1%, 2%, 3% (the default), 5% or 10% of the posts by sign bits, against the full int8 scan.
    /// </summary>
    private static async Task<Dictionary<string, double>> SignBitRecallAsync(SqliteDatabase db, IEmbedder embedder, IReadOnlyList<RelevanceQuestions.Question> questions)
    {
        var full = SqlitePostStore.LoadIndex(db, new Int8VectorIndex(embedder.Dimensions) { BinaryPrefilterRows = int.MaxValue });
        var depths = new[] { 0.001, 0.01, 0.02, 0.03, 0.05, 0.1 }.ToDictionary(
            f => $"keep_{f * 100}pct",
            f => SqlitePostStore.LoadIndex(db, new Int8VectorIndex(embedder.Dimensions) { BinaryPrefilterRows = 0, MinPrefilter = 0, PrefilterFraction = f }),
            StringComparer.Ordinal);
        var all = new VectorFilter(long.MinValue + 1, long.MaxValue);
        var recall = depths.Keys.ToDictionary(k => k, _ => 0.0, StringComparer.Ordinal);
        foreach (var q in questions)
        {
            var v = await embedder.EmbedQueryAsync(q.Text, CancellationToken.None);
            var expected = full.Search(v, 10, all).Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var (name, index) in depths)
            {
                recall[name] += index.Search(v, 10, all).Count(r => expected.Contains(r.Key)) / 10.0;
            }
        }

        return recall.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value / questions.Count, 4), StringComparer.Ordinal);
    }

    /// <summary>nDCG@10 with binary gains: the ideal ranking puts min(10, relevant) relevant posts first.</summary>
    private static double Ndcg(double[] gains, int relevant)
    {
        double dcg = 0, ideal = 0;
        for (var i = 0; i < gains.Length; i++)
        {
            dcg += gains[i] / Math.Log2(i + 2);
        }

        for (var i = 0; i < Math.Min(K, relevant); i++)
        {
            ideal += 1 / Math.Log2(i + 2);
        }

        return ideal == 0 ? 0 : dcg / ideal;
    }

    /// <summary>The ranker's "now": the moment each question is asked.</summary>
    private sealed class SettableClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}

/// <summary>
/// The fixed questions of <c>bench relevance</c>: one natural-language question per information category, asked
/// about each event by its everyday name. Written once from the category definitions (Imran et al., LREC 2016),
/// before any result was seen; never edited to suit a ranking.
/// </summary>
internal static class RelevanceQuestions
{
    public sealed record Question(string Event, string Category, string Text)
    {
        /// <summary>Relevant: the same incident (both Chile earthquake sets are one earthquake) and the same category.</summary>
        public bool IsRelevant(string @event, string category) =>
            category == Category && Incident(@event) == Incident(Event);
    }

    private static readonly Dictionary<string, string> Names = new(StringComparer.Ordinal)
    {
        ["2013_pakistan_eq"] = "the 2013 Pakistan earthquake",
        ["2014_california_eq"] = "the 2014 California earthquake",
        ["2014_chile_eq_en"] = "the 2014 Chile earthquake",
        ["2014_chile_eq_es"] = "the 2014 Chile earthquake",
        ["2014_hurricane_odile"] = "Hurricane Odile",
        ["2014_india_floods"] = "the 2014 India floods",
        ["2014_pakistan_floods"] = "the 2014 Pakistan floods",
        ["2014_typhoon_hagupit"] = "Typhoon Hagupit",
        ["2015_cyclone_pam"] = "Cyclone Pam",
        ["2015_nepal_eq"] = "the Nepal earthquake",
        ["2014_ebola_virus"] = "Ebola",
        ["2014_mers"] = "MERS",
    };

    private static readonly Dictionary<string, string> Templates = new(StringComparer.Ordinal)
    {
        ["donation_needs_or_offers_or_volunteering_services"] = "How can people donate or volunteer to help after {0}?",
        ["infrastructure_and_utilities_damage"] = "Which roads, bridges, buildings or power lines were damaged by {0}?",
        ["injured_or_dead_people"] = "How many people were killed or injured in {0}?",
        ["caution_and_advice"] = "What warnings and safety advice are people being given about {0}?",
        ["affected_people"] = "Who has been affected by {0} and what do they need?",
        ["displaced_people_and_evacuations"] = "Have people been evacuated or left homeless by {0}, and where are they sheltering?",
        ["missing_trapped_or_found_people"] = "Are people missing or trapped after {0}, and has anyone been found?",
        ["sympathy_and_emotional_support"] = "What messages of sympathy and prayers are people sending to the victims of {0}?",
        ["disease_signs_or_symptoms"] = "What are the signs and symptoms of {0}?",
        ["disease_transmission"] = "How is {0} spreading and how do people catch it?",
        ["treatment"] = "Is there a treatment, cure or vaccine for {0}?",
        ["prevention"] = "How can people protect themselves from {0}?",
        ["deaths_reports"] = "How many people have died of {0} so far?",
    };

    /// <summary>
    /// The tuning half: every other incident in id order (2013 Pakistan earthquake, 2014 Chile earthquake, Hurricane
    /// Odile, MERS, Typhoon Hagupit, Nepal earthquake). Ranking weights are chosen on these questions only; the
    /// other incidents are the held-out half the bench also reports.
    /// </summary>
    public static bool IsTuning(Question question) => Array.IndexOf(TuningIncidents, Incident(question.Event)) >= 0;

    private static readonly string[] TuningIncidents =
        [.. Names.Keys.Select(Incident).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Where((_, i) => i % 2 == 0)];

    /// <summary>The incident an event set belongs to (the Chile earthquake was collected as two sets, English and Spanish).</summary>
    public static string Incident(string @event) => @event.StartsWith("2014_chile_eq", StringComparison.Ordinal) ? "2014_chile_eq" : @event;

    /// <summary>One question per (incident, category) that has at least <paramref name="minRelevant"/> labelled tweets.</summary>
    public static List<Question> For(IEnumerable<(string Event, string Category)> labels, int minRelevant) =>
    [
        .. labels
            .Where(l => Templates.ContainsKey(l.Category) && Names.ContainsKey(l.Event))
            .GroupBy(l => (Incident: Incident(l.Event), l.Category))
            .Where(g => g.Count() >= minRelevant)
            .OrderBy(g => g.Key.Incident, StringComparer.Ordinal).ThenBy(g => g.Key.Category, StringComparer.Ordinal)
            .Select(g => new Question(g.First().Event, g.Key.Category, string.Format(CultureInfo.InvariantCulture, Templates[g.Key.Category], Names[g.First().Event]))),
    ];
}
