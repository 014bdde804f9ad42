using StreamIngest.Enrich;

namespace StreamIngest.Core.Tests.Enrich;

public class TextNormalizerTests
{
    [Fact]
    public void Normalize_DecomposedAccents_BecomeComposed()
    {
        Assert.Equal("café", TextNormalizer.Normalize("cafe\u0301"));
    }

    [Fact]
    public void Normalize_ControlsZeroWidthAndBidiOverrides_AreRemoved()
    {
        Assert.Equal("ab\ncd\te", TextNormalizer.Normalize("\u0000a\u200Bb\r\nc\u202Ed\te\u0007"));
    }

    [Fact]
    public void Normalize_LoneSurrogate_IsReplacedNotThrown()
    {
        Assert.Equal("a\uFFFDb", TextNormalizer.Normalize("a\uD800b"));
    }

    [Fact]
    public void FoldForComparison_CaseWidthAndSpacing_AreIgnored()
    {
        Assert.Equal(TextNormalizer.FoldForComparison("ＦＬＯＯＤ  warning\n now"), TextNormalizer.FoldForComparison("flood warning now"));
    }
}
