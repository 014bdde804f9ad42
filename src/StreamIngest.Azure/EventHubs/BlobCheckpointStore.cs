using System.Globalization;
using System.Net;
using Azure;
using Azure.Messaging.EventHubs.Primitives;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace StreamIngest.Azure.EventHubs;

/// <summary>
/// Event Hubs checkpoints and partition ownership in Azure Blob Storage, laid out as the Azure SDK's own
/// blob checkpoint store does (so processors of either kind can share a container):
/// <c>{namespace}/{hub}/{consumer group}/ownership/{partition}</c> and <c>…/checkpoint/{partition}</c>,
/// with the data in blob metadata. Ownership uses the blob ETag for optimistic concurrency: a claim
/// made with a stale version fails, so two processors never own one partition at once.
/// </summary>
public sealed class BlobCheckpointStore(BlobContainerClient container) : CheckpointStore
{
    private const string OwnerIdentifier = "ownerid";
    private const string Offset = "offset";
    private const string SequenceNumber = "sequencenumber";
    private const string ClientIdentifier = "clientidentifier";

    public override async Task<IEnumerable<EventProcessorPartitionOwnership>> ListOwnershipAsync(
        string fullyQualifiedNamespace, string eventHubName, string consumerGroup, CancellationToken cancellationToken)
    {
        var prefix = Prefix(fullyQualifiedNamespace, eventHubName, consumerGroup, "ownership");
        var result = new List<EventProcessorPartitionOwnership>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Traits = BlobTraits.Metadata, Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            result.Add(new EventProcessorPartitionOwnership
            {
                FullyQualifiedNamespace = fullyQualifiedNamespace,
                EventHubName = eventHubName,
                ConsumerGroup = consumerGroup,
                PartitionId = blob.Name[prefix.Length..],
                OwnerIdentifier = blob.Metadata.TryGetValue(OwnerIdentifier, out var owner) ? owner : string.Empty,
                LastModifiedTime = blob.Properties.LastModified ?? DateTimeOffset.MinValue,
                Version = blob.Properties.ETag?.ToString().Trim('"'),
            });
        }

        return result;
    }

    public override async Task<IEnumerable<EventProcessorPartitionOwnership>> ClaimOwnershipAsync(
        IEnumerable<EventProcessorPartitionOwnership> desiredOwnership, CancellationToken cancellationToken)
    {
        var claimed = new List<EventProcessorPartitionOwnership>();
        foreach (var ownership in desiredOwnership)
        {
            var blob = container.GetBlobClient(Prefix(ownership.FullyQualifiedNamespace, ownership.EventHubName, ownership.ConsumerGroup, "ownership") + ownership.PartitionId);
            var metadata = new Dictionary<string, string> { [OwnerIdentifier] = ownership.OwnerIdentifier ?? string.Empty };
            try
            {
                BlobInfo info;
                if (ownership.Version is null)
                {
                    // First claim: the blob must not exist yet, or someone else got there first.
                    var created = await blob.UploadAsync(BinaryData.Empty, new BlobUploadOptions
                    {
                        Metadata = metadata,
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    }, cancellationToken).ConfigureAwait(false);
                    info = new BlobInfo { ETag = created.Value.ETag, LastModified = created.Value.LastModified };
                }
                else
                {
                    var updated = await blob.SetMetadataAsync(metadata, new BlobRequestConditions { IfMatch = new ETag(ownership.Version) }, cancellationToken).ConfigureAwait(false);
                    info = new BlobInfo { ETag = updated.Value.ETag, LastModified = updated.Value.LastModified };
                }

                ownership.Version = info.ETag.ToString().Trim('"'); // one form for listed and claimed versions
                ownership.LastModifiedTime = info.LastModified;
                claimed.Add(ownership);
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict or (int)HttpStatusCode.NotFound)
            {
                // Someone else changed (or took) it since we listed: not ours this round.
            }
        }

        return claimed;
    }

    public override async Task<EventProcessorCheckpoint?> GetCheckpointAsync(
        string fullyQualifiedNamespace, string eventHubName, string consumerGroup, string partitionId, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(Prefix(fullyQualifiedNamespace, eventHubName, consumerGroup, "checkpoint") + partitionId);
        try
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var m = properties.Value.Metadata;
            // Resume after the checkpointed event: by offset when known (the service's preferred position), else by sequence number.
            global::Azure.Messaging.EventHubs.Consumer.EventPosition? position =
                m.TryGetValue(Offset, out var offset) && !string.IsNullOrEmpty(offset)
                    ? global::Azure.Messaging.EventHubs.Consumer.EventPosition.FromOffset(offset, isInclusive: false)
                    : m.TryGetValue(SequenceNumber, out var seqText) && long.TryParse(seqText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seq)
                        ? global::Azure.Messaging.EventHubs.Consumer.EventPosition.FromSequenceNumber(seq, isInclusive: false)
                        : null;
            return position is null
                ? null
                : new EventProcessorCheckpoint
                {
                    FullyQualifiedNamespace = fullyQualifiedNamespace,
                    EventHubName = eventHubName,
                    ConsumerGroup = consumerGroup,
                    PartitionId = partitionId,
                    ClientIdentifier = m.TryGetValue(ClientIdentifier, out var client) ? client : null,
                    StartingPosition = position.Value,
                    LastModified = properties.Value.LastModified,
                };
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The sequence number of the last event a partition's checkpoint covers, or null when it has none.</summary>
    public async Task<long?> GetCheckpointSequenceNumberAsync(
        string fullyQualifiedNamespace, string eventHubName, string consumerGroup, string partitionId, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(Prefix(fullyQualifiedNamespace, eventHubName, consumerGroup, "checkpoint") + partitionId);
        try
        {
            var m = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Metadata;
            return m.TryGetValue(SequenceNumber, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seq) ? seq : null;
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [Obsolete("Kept for processors built against the offset-based API; use the CheckpointPosition overload.")]
    public override Task UpdateCheckpointAsync(
        string fullyQualifiedNamespace, string eventHubName, string consumerGroup, string partitionId, long offset, long? sequenceNumber, CancellationToken cancellationToken) =>
        WriteCheckpointAsync(fullyQualifiedNamespace, eventHubName, consumerGroup, partitionId, null, offset.ToString(CultureInfo.InvariantCulture), sequenceNumber, cancellationToken);

    public override Task UpdateCheckpointAsync(
        string fullyQualifiedNamespace, string eventHubName, string consumerGroup, string partitionId, string clientIdentifier,
        global::Azure.Messaging.EventHubs.Processor.CheckpointPosition startingPosition, CancellationToken cancellationToken) =>
        WriteCheckpointAsync(fullyQualifiedNamespace, eventHubName, consumerGroup, partitionId, clientIdentifier, startingPosition.OffsetString, startingPosition.SequenceNumber, cancellationToken);

    private async Task WriteCheckpointAsync(
        string ns, string hub, string cg, string partitionId, string? clientIdentifier, string? offset, long? sequenceNumber, CancellationToken ct)
    {
        var blob = container.GetBlobClient(Prefix(ns, hub, cg, "checkpoint") + partitionId);
        var metadata = new Dictionary<string, string>();
        if (sequenceNumber is { } seq)
        {
            metadata[SequenceNumber] = seq.ToString(CultureInfo.InvariantCulture);
        }

        if (offset is not null)
        {
            metadata[Offset] = offset;
        }

        if (clientIdentifier is not null)
        {
            metadata[ClientIdentifier] = clientIdentifier;
        }

        try
        {
            await blob.SetMetadataAsync(metadata, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            await blob.UploadAsync(BinaryData.Empty, new BlobUploadOptions { Metadata = metadata }, ct).ConfigureAwait(false);
        }
    }

    private static string Prefix(string ns, string hub, string cg, string kind) =>
        $"{ns.ToLowerInvariant()}/{hub.ToLowerInvariant()}/{cg.ToLowerInvariant()}/{kind}/";

    private readonly struct BlobInfo
    {
        public ETag ETag { get; init; }

        public DateTimeOffset LastModified { get; init; }
    }
}
