using StreamIngest.Model;

namespace StreamIngest.Enrich;

/// <summary>
/// Enrichment that reads the post's embedding (sentiment, safety classifiers): it runs after the embed step,
/// before the store write. Like <see cref="IEnricher"/>, it returns the reason a post must be rejected, or null.
/// </summary>
public interface ISignalEnricher
{
    string? Enrich(Post post);
}
