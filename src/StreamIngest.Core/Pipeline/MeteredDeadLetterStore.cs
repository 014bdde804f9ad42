using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Pipeline;

/// <summary>Counts every dead letter, wherever it comes from (feed, enrichment or a failed batch), then stores it.</summary>
public sealed class MeteredDeadLetterStore(IDeadLetterStore inner, PipelineMetrics metrics) : IDeadLetterStore
{
    public async Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken)
    {
        await inner.WriteAsync(deadLetter, cancellationToken).ConfigureAwait(false);
        metrics.RecordRejected();
    }

    public Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken) => inner.ListAsync(limit, cancellationToken);
}
