using System.Numerics.Tensors;

namespace StreamIngest.Embedded.Tests.Onnx;

[Collection(EmbedderCollection.Name)]
public class MiniLmEmbedderTests(EmbedderFixture fixture)
{
    [Fact]
    public void Embed_AnyText_Gives384UnitVectors()
    {
        var vectors = fixture.Embedder.Embed(["flood warning downtown", "", "a"]);

        Assert.Equal(384, fixture.Embedder.Dimensions);
        Assert.All(vectors, v => Assert.Equal(1f, TensorPrimitives.Norm(v), 3));
    }

    [Fact]
    public void Embed_Paraphrases_AreCloserThanUnrelatedText()
    {
        var v = fixture.Embedder.Embed([
            "The river burst its banks and streets downtown are under water",
            "Downtown flooding after the river overflowed",
            "My sourdough bread came out great this morning",
        ]);

        var related = TensorPrimitives.Dot(v[0], v[1]);
        var unrelated = TensorPrimitives.Dot(v[0], v[2]);
        Assert.True(related > 0.6, $"paraphrase similarity {related}");
        Assert.True(unrelated < 0.2, $"unrelated similarity {unrelated}");
    }

    [Fact]
    public void Embed_Batch_EqualsOneByOne_WhateverTheLengthOrder()
    {
        string[] texts = ["short", "a somewhat longer sentence about the transit strike in the city", "mid length text here"];

        var batch = fixture.Embedder.Embed(texts);
        var single = texts.Select(t => fixture.Embedder.Embed([t])[0]).ToArray();

        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(TensorPrimitives.Dot(batch[i], single[i]) > 0.9999f, $"text {i} differs between batch and single");
        }
    }

    [Fact]
    public void Tokenize_LongText_IsTruncatedToMaxTokensEndingWithSep()
    {
        var ids = fixture.Embedder.Tokenize(string.Join(' ', Enumerable.Repeat("flooding", 500)));

        Assert.Equal(128, ids.Count);
        Assert.Equal(101, ids[0]);  // [CLS]
        Assert.Equal(102, ids[^1]); // [SEP]
    }
}
