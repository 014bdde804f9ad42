using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamIngest.Hosting;
using StreamIngest.Transport;

namespace StreamIngest.Capacity;

public static class CapacityRegistration
{
    /// <summary>
    /// The split between ingest and queries (<c>Capacity:*</c>): the work meter the embedder charges, the query gate and
    /// the controller that moves it. <paramref name="readsIngestQueue"/>: this process runs the process stage, so its
    /// queue is what the split protects; an api-only replica sheds by its own query latency alone.
    /// </summary>
    public static void AddCapacity(this IHostApplicationBuilder builder, bool readsIngestQueue)
    {
        builder.Services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CapacityOptions>>(new SectionValidator<CapacityOptions>(CapacityOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton<WorkMeter>();
        builder.Services.AddSingleton(sp => new QueryAdmission(
            sp.GetRequiredService<IOptions<CapacityOptions>>().Value, sp.GetRequiredService<TimeProvider>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddSingleton(sp => new CapacityController(
            sp.GetRequiredService<QueryAdmission>(), sp.GetRequiredService<IOptions<CapacityOptions>>().Value, sp.GetRequiredService<WorkMeter>(),
            readsIngestQueue ? sp.GetRequiredService<IFeedConsumer>() : null, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CapacityController>>(), sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CapacityController>());
    }
}
