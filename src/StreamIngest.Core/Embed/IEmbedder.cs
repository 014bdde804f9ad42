namespace StreamIngest.Embed;

/// <summary>
/// The embedding port: texts in, unit-length vectors out, in the same order. Local (ONNX) or remote
/// (Azure OpenAI / OpenAI-compatible) implementations batch as suits them.
/// </summary>
public interface IEmbedder
{
    /// <summary>Name of the model, recorded with stored vectors so a model change is noticed.</summary>
    string Model { get; }

    int Dimensions { get; }

    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);

    /// <summary>
    /// A search query's vector. Models trained with a query instruction (e.g. arctic-embed's
    /// "Represent this sentence for searching relevant passages: ") add it here; posts never carry it.
    /// </summary>
    async Task<float[]> EmbedQueryAsync(string query, CancellationToken cancellationToken) =>
        (await EmbedAsync([query], cancellationToken).ConfigureAwait(false))[0];
}
