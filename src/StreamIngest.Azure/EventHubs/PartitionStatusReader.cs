using Azure.Messaging.EventHubs.Consumer;

namespace StreamIngest.Azure.EventHubs;

/// <summary>One partition as the processors see it: who owns it, how far its checkpoint is, and how far behind that is.</summary>
public sealed record PartitionStatus(
    string PartitionId,
    string? Owner,
    DateTimeOffset? OwnedSince,
    long? CheckpointSequenceNumber,
    long LastEnqueuedSequenceNumber,
    DateTimeOffset? LastEnqueuedTime,
    long Lag);

/// <summary>
/// Reads partition ownership and checkpoints from the checkpoint store and each partition's last enqueued
/// event from the hub, for the dashboard on any role (the api role included).
/// </summary>
public sealed class PartitionStatusReader(EventHubConsumerClient hub, BlobCheckpointStore checkpoints)
{
    public async Task<IReadOnlyList<PartitionStatus>> ReadAsync(CancellationToken cancellationToken)
    {
        var ns = hub.FullyQualifiedNamespace;
        var ownership = (await checkpoints.ListOwnershipAsync(ns, hub.EventHubName, hub.ConsumerGroup, cancellationToken).ConfigureAwait(false))
            .ToDictionary(o => o.PartitionId, StringComparer.Ordinal);
        var result = new List<PartitionStatus>();
        foreach (var id in await hub.GetPartitionIdsAsync(cancellationToken).ConfigureAwait(false))
        {
            var properties = await hub.GetPartitionPropertiesAsync(id, cancellationToken).ConfigureAwait(false);
            var checkpointed = await checkpoints.GetCheckpointSequenceNumberAsync(ns, hub.EventHubName, hub.ConsumerGroup, id, cancellationToken).ConfigureAwait(false);
            var last = properties.IsEmpty ? -1 : properties.LastEnqueuedSequenceNumber;
            var owner = ownership.TryGetValue(id, out var o) && !string.IsNullOrEmpty(o.OwnerIdentifier) ? o : null;
            result.Add(new PartitionStatus(
                id,
                owner?.OwnerIdentifier,
                owner?.LastModifiedTime,
                checkpointed,
                last,
                properties.IsEmpty ? null : properties.LastEnqueuedTime,
                Math.Max(0, last - (checkpointed ?? properties.BeginningSequenceNumber - 1))));
        }

        return result;
    }
}
