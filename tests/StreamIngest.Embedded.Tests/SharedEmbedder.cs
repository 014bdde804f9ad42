using StreamIngest.Embedded.Onnx;

namespace StreamIngest.Embedded.Tests;

/// <summary>The real MiniLM model, loaded once for all tests of this assembly (it takes about a second).</summary>
public sealed class EmbedderFixture : IDisposable
{
    public OnnxSentenceEmbedder Embedder { get; } = new(new EmbeddingOptions());

    public void Dispose() => Embedder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class EmbedderCollection : ICollectionFixture<EmbedderFixture>
{
    public const string Name = "MiniLM";
}
