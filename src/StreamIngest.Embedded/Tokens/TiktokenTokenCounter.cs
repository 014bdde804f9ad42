using Microsoft.ML.Tokenizers;
using StreamIngest.Ground;

namespace StreamIngest.Embedded.Tokens;

/// <summary>
/// Token counts for prompt budgets with the o200k_base BPE (GPT-4o family), shipped in a NuGet data
/// package. Other model families count within a few percent of it; budgets keep a margin.
/// </summary>
public sealed class TiktokenTokenCounter : ITokenCounter
{
    private readonly TiktokenTokenizer _tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o");

    public int Count(string text) => _tokenizer.CountTokens(text);
}
