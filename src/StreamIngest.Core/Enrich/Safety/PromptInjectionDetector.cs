using System.Text.RegularExpressions;

namespace StreamIngest.Enrich.Safety;

/// <summary>One reason a text looks aimed at a model, with its weight in the score.</summary>
public sealed record InjectionSignal(string Kind, double Weight, string Evidence);

/// <summary>
/// Scores how strongly a post's text is aimed at a language model rather than at people: instruction
/// overrides ("ignore all previous instructions"), role-play jailbreaks ("you are now DAN"), forged
/// delimiters or system prompts (<c>&lt;|im_start|&gt;system</c>, <c>&lt;&lt;&lt;END POST</c>, "[SYSTEM]"), hidden or
/// zero-width text and Unicode tag characters (invisible to people, read by models), requests to reveal or
/// ignore rules, and text addressed to AI readers. Each kind of signal counts once; the score is
/// 1 − Π(1 − weight). Rules, not a model: every signal names its evidence, and the labelled set in the
/// tests (with its sources) measures precision and recall.
/// </summary>
public static partial class PromptInjectionDetector
{
    /// <summary>At or above this score a post is labelled <c>prompt_injection</c>.</summary>
    public const double Threshold = 0.5;

    private const string Target = @"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|context|messages|programming|guardrails|restrictions)";

    [GeneratedRegex(@"\b(?:ignore|disregard|forget|override|bypass|skip|drop|discard)\b[\s\w,'’]{0,40}?\b(?:all|any|every|the|your|my|these|those|previous|prior|above|earlier|preceding|original|system|initial|existing|safety)\b[\s\w'’]{0,30}?\b" + Target + @"\b(?!\s+of\s+thumb)|\bforget\s+(?:everything|all)\s+(?:you\s+(?:were|have\s+been)\s+told|above|before|you\s+know)|\b(?:stop|quit)\s+following\s+(?:the|your|all|any)\b[\s\w'’]{0,20}?\b" + Target + @"\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Override();

    [GeneratedRegex(@"\b(?:new|updated|real|actual|true|revised)\s+(?:system\s+)?(?:instructions?|prompt|rules|task)\s*[:\-—]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NewInstructions();

    [GeneratedRegex(@"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will)|act\s+as|pretend\s+(?:to\s+be|you\s+are)|roleplay\s+as|role-play\s+as|simulate\s+being)\b[^.!?\n]{0,80}\b(?:DAN|jailbr\w*|unfiltered|uncensored|unrestricted|no\s+(?:rules|restrictions|limits|filters|guidelines)|without\s+(?:any\s+)?(?:rules|restrictions|limits|filters|guidelines)|evil|developer\s+mode|god\s*mode)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Jailbreak();

    [GeneratedRegex(@"\b(?:do\s+anything\s+now|DAN\s+mode|developer\s+mode\s+(?:enabled|output)|jailbreak(?:ed)?\s+mode|AIM\s+mode)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex JailbreakNames();

    [GeneratedRegex(@"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[/?INST\]|<</?SYS>>|<<<\s*(?:END\s+)?POST|</?\s*(?:system|instructions?|assistant)\s*>|^\s*(?:#{2,}\s*)?(?:system|assistant)\s*(?:prompt)?\s*:|\[(?:system|admin|developer)(?:\s+(?:message|note|override))?\]|BEGIN\s+(?:SYSTEM|ADMIN)\s+(?:PROMPT|MESSAGE|INSTRUCTIONS)|END\s+OF\s+(?:USER\s+)?(?:INPUT|CONTEXT|DOCUMENT)", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex ForgedDelimiter();

    [GeneratedRegex(@"\b(?:reveal|show|print|repeat|output|display|tell\s+(?:me|us)|give\s+me|leak|dump|what\s+(?:is|are|was|were))\b[\s\w'’]{0,25}?\b(?:your|the)\s+(?:system\s+prompt|(?:initial|original|hidden|secret|full)\s+(?:prompt|instructions|rules)|instructions\s+above|prompt\s+above|guidelines|hidden\s+rules)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Reveal();

    [GeneratedRegex(@"\b(?:secret|hidden|confidential|full|original|initial)\s+(?:system\s+)?(?:prompt|instructions)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPrompt();

    [GeneratedRegex(@"\b(?:if\s+you\s+are\s+(?:an?\s+)?(?:AI|LLM|language\s+model|assistant|chatbot|bot)|(?:note|message|attention)\s+(?:to|for)\s+(?:any\s+|all\s+)?(?:AI|LLM|language\s+model|assistant|chatbot)s?|(?:AI|LLM|GPT|ChatGPT|Claude|Gemini|Grok|Copilot)s?\s+(?:reading|summari[sz]ing|processing|parsing|answering\s+about)\s+this|attention,?\s+(?:all\s+)?(?:AI|LLM|language)\s*(?:models?|assistants?|systems?)?\s*[:,]|dear\s+(?:AI|LLM|language\s+model|chatbot|assistant)\s*[,:])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AddressesModel();

    [GeneratedRegex(@"\b(?:respond|reply|answer|say|output|write|tell\s+(?:everyone|users|the\s+user|them))\b[^.!?\n]{0,40}\b(?:only|instead|exactly|that)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Command();

    [GeneratedRegex(@"style\s*=\s*[""'][^""']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0)|<!--[\s\S]*?(?:instruction|prompt|ignore|assistant|AI)\b[\s\S]*?-->", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HiddenHtml();

    /// <summary>Scores <paramref name="rawText"/> (as received, before HTML and Unicode clean-up remove what hides things).</summary>
    public static (double Score, IReadOnlyList<InjectionSignal> Signals) Score(string rawText)
    {
        var signals = new List<InjectionSignal>();
        if (string.IsNullOrEmpty(rawText))
        {
            return (0, signals);
        }

        var hidden = CountHidden(rawText, out var tagChars);
        var visible = Visible(rawText);
        Add(signals, Override().Match(visible), "instruction_override", 0.8);
        Add(signals, NewInstructions().Match(visible), "new_instructions", 0.45);
        Add(signals, Jailbreak().Match(visible), "role_play_jailbreak", 0.8);
        Add(signals, JailbreakNames().Match(visible), "jailbreak_name", 0.6);
        Add(signals, ForgedDelimiter().Match(visible), "forged_delimiter", 0.7);
        Add(signals, Reveal().Match(visible), "reveal_rules", 0.7);
        Add(signals, AddressesModel().Match(visible), "addresses_model", 0.5);
        Add(signals, SecretPrompt().Match(visible), "mentions_secret_prompt", 0.5);
        if (signals.Count > 0)
        {
            // A command ("reply only …", "tell everyone that …") adds weight only next to another signal.
            Add(signals, Command().Match(visible), "command", 0.3);
        }

        Add(signals, HiddenHtml().Match(rawText), "hidden_html", 0.35);
        if (tagChars > 0)
        {
            // Unicode tag characters carry ASCII that people cannot see and models read ("ASCII smuggling").
            signals.Add(new InjectionSignal("unicode_tag_text", 0.9, $"{tagChars} tag characters"));
        }
        else if (hidden >= 4)
        {
            signals.Add(new InjectionSignal("zero_width_text", signals.Count > 0 ? 0.4 : 0.25, $"{hidden} zero-width or bidi control characters"));
        }

        var score = 1 - signals.Aggregate(1.0, (p, s) => p * (1 - s.Weight));
        return (Math.Round(score, 3), signals);
    }

    private static void Add(List<InjectionSignal> signals, Match m, string kind, double weight)
    {
        if (m.Success)
        {
            signals.Add(new InjectionSignal(kind, weight, m.Value.Length > 80 ? m.Value[..80] : m.Value));
        }
    }

    /// <summary>The text a model would read: zero-width and bidi controls removed (they split words to dodge filters), tag characters decoded to ASCII.</summary>
    private static string Visible(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.ConvertToUtf32(c, text[i + 1]) is var cp and >= 0xE0020 and <= 0xE007E)
            {
                sb.Append((char)(cp - 0xE0000));
                i++;
                continue;
            }

            if (!IsInvisible(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static int CountHidden(string text, out int tagChars)
    {
        var hidden = 0;
        tagChars = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.ConvertToUtf32(c, text[i + 1]) is >= 0xE0000 and <= 0xE007F)
            {
                tagChars++;
                i++;
            }
            else if (IsInvisible(c))
            {
                hidden++;
            }
        }

        return hidden;
    }

    private static bool IsInvisible(char c) => c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u00AD'
        or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
