namespace StreamIngest.Retrieve;

/// <summary>The retrieval port: ranked, filtered, recency-aware search over stored posts.</summary>
public interface IRetriever
{
    Task<SearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken);
}
