using System.Collections.Concurrent;
using StreamIngest.Model;
using StreamIngest.Store;

namespace StreamIngest.Tests;

/// <summary>Dead letters kept in a list, for asserting what was rejected and why.</summary>
internal sealed class ListDeadLetters : IDeadLetterStore
{
    public ConcurrentQueue<DeadLetter> Items { get; } = new();

    public Task WriteAsync(DeadLetter deadLetter, CancellationToken cancellationToken)
    {
        Items.Enqueue(deadLetter);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([.. Items.Take(limit)]);
}
