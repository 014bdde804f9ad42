using System.Text.RegularExpressions;

namespace StreamIngest.Enrich.Signals;

/// <summary>
/// A small hand-written polarity lexicon (common English opinion words, emoji and emoticons) with negation
/// ("not good", "never again"), giving four features the sentiment head reads beside the embedding:
/// positive and negative word evidence, positive and negative emoji evidence, each squashed to [0, 1).
/// Written for this project, not derived from the evaluation data.
/// </summary>
public static partial class SentimentLexicon
{
    public const int FeatureCount = 4;

    private static readonly HashSet<string> Positive = new(StringComparer.OrdinalIgnoreCase)
    {
        "good", "great", "love", "loved", "loving", "lovely", "awesome", "amazing", "excellent", "fantastic", "wonderful", "best", "better",
        "happy", "glad", "excited", "exciting", "beautiful", "nice", "cool", "fun", "enjoy", "enjoyed", "perfect", "brilliant", "proud",
        "thanks", "thank", "grateful", "congrats", "congratulations", "win", "won", "winning", "yay", "lol", "haha", "hope", "hopefully",
        "incredible", "superb", "sweet", "favorite", "favourite", "like", "liked", "safe", "success", "successful", "strong", "bullish",
        "rally", "gain", "gains", "profit", "beat", "beats", "up", "recovery", "helpful", "kind", "blessed", "cheers", "wow", "impressive",
        "fine", "okay", "ready", "celebrate", "celebrating", "enjoying", "positive", "support", "glorious", "outstanding", "delighted",
    };

    private static readonly HashSet<string> Negative = new(StringComparer.OrdinalIgnoreCase)
    {
        "bad", "worse", "worst", "hate", "hated", "awful", "terrible", "horrible", "sad", "angry", "mad", "upset", "annoyed", "annoying",
        "disappointed", "disappointing", "fail", "failed", "failure", "sucks", "suck", "stupid", "ugly", "boring", "poor", "sorry", "sick",
        "tired", "hurt", "pain", "afraid", "scared", "fear", "worried", "worry", "crisis", "disaster", "dead", "death", "died", "kill",
        "killed", "lost", "lose", "losing", "loss", "losses", "wrong", "problem", "broken", "crash", "dump", "dumping", "bearish", "down",
        "short", "sell", "selloff", "drop", "drops", "fell", "fall", "weak", "miss", "missed", "fraud", "scam", "shame", "damn", "wtf",
        "ugh", "cry", "crying", "mess", "nasty", "evil", "disgusting", "furious", "ridiculous", "pathetic", "useless", "never", "unfortunately",
    };

    private static readonly HashSet<string> Negators = new(StringComparer.OrdinalIgnoreCase)
    {
        "not", "no", "never", "dont", "don't", "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't", "cant", "can't",
        "cannot", "wont", "won't", "aint", "ain't", "nothing", "hardly", "without", "neither", "nor",
    };

    private static readonly string[] PositiveEmoji = ["😀", "😃", "😄", "😁", "😊", "🙂", "😍", "🥰", "😘", "😂", "🤣", "👍", "👏", "🎉", "❤", "💕", "💖", "🔥", "💪", "🙌", "✨", "🚀", "😎", ":)", ":-)", ":D", "<3"];

    private static readonly string[] NegativeEmoji = ["😢", "😭", "😞", "😔", "😟", "😠", "😡", "🤬", "😤", "💔", "👎", "😩", "😫", "😱", "🙁", "☹", "😒", "🤮", ":(", ":-(", ":'("];

    [GeneratedRegex(@"[\p{L}']+", RegexOptions.CultureInvariant)]
    private static partial Regex Words();

    public static float[] Features(string text)
    {
        double pos = 0, neg = 0;
        var negateFor = 0;
        foreach (Match m in Words().Matches(text))
        {
            var w = m.Value;
            if (Negators.Contains(w))
            {
                negateFor = 3; // the next three words
                continue;
            }

            var polarity = Positive.Contains(w) ? 1 : Negative.Contains(w) ? -1 : 0;
            if (negateFor > 0)
            {
                polarity = -polarity;
                negateFor--;
            }

            if (polarity > 0)
            {
                pos++;
            }
            else if (polarity < 0)
            {
                neg++;
            }
        }

        var posEmoji = PositiveEmoji.Sum(e => Count(text, e));
        var negEmoji = NegativeEmoji.Sum(e => Count(text, e));
        return [Squash(pos), Squash(neg), Squash(posEmoji), Squash(negEmoji)];
    }

    /// <summary>The embedding followed by the lexicon features: what the sentiment head reads.</summary>
    public static float[] Concat(ReadOnlySpan<float> embedding, string text) => [.. embedding, .. Features(text)];

    private static float Squash(double count) => (float)Math.Tanh(count / 2);

    private static int Count(string text, string needle)
    {
        var n = 0;
        for (var i = text.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = text.IndexOf(needle, i + needle.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
