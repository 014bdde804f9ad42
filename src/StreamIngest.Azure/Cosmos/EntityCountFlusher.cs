using Microsoft.Extensions.Hosting;

namespace StreamIngest.Azure.Cosmos;

/// <summary>The process role's timer for <see cref="CosmosEntityCountStore.FlushAsync"/>, with a last flush on shutdown.</summary>
public sealed class EntityCountFlusher(CosmosEntityCountStore store, TimeSpan interval, TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await store.FlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping: the last flush follows
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await store.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
