using StreamIngest.Model;

namespace StreamIngest.Enrich;

/// <summary>
/// The enrichment port. Enrichers run in registration order on every post of a batch and fill
/// enrichment fields in place. A post that cannot be used is rejected with a reason (and dead-lettered
/// by the pipeline); an enricher never throws for bad input. <see cref="Enrich"/> is called for several posts at
/// once (a batch is enriched on every core), so an enricher keeps no state between posts.
/// </summary>
public interface IEnricher
{
    /// <summary>Returns null when the post is fine, or the reason it must be rejected.</summary>
    string? Enrich(Post post);
}
