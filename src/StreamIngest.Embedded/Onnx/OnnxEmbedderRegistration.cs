using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamIngest.Capacity;
using StreamIngest.Embed;
using StreamIngest.Hosting;

namespace StreamIngest.Embedded.Onnx;

/// <summary>Registers the packaged sentence model that <c>Embedding:Model</c> names, run by ONNX Runtime, behind <see cref="IEmbedder"/>.</summary>
public static class OnnxEmbedderRegistration
{
    /// <summary>
    /// Binds and validates the <c>Embedding</c> section (the heads to load read it whichever the embedder), and, unless
    /// <paramref name="embedder"/> is false, registers the local embedder: queries asked again (dashboards, watches,
    /// agents) reuse their vector, posts are always embedded, and each run's core time is charged to ingest or
    /// query (<see cref="WorkMeter"/>, when registered).
    /// </summary>
    public static void AddOnnxEmbedder(this IHostApplicationBuilder builder, bool embedder = true)
    {
        builder.Services.AddOptions<EmbeddingOptions>().BindConfiguration(EmbeddingOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EmbeddingOptions>>(new SectionValidator<EmbeddingOptions>(EmbeddingOptions.Section));
        if (embedder)
        {
            builder.Services.AddSingleton<IEmbedder>(sp => new CachedQueryEmbedder(new OnnxSentenceEmbedder(sp.GetRequiredService<IOptions<EmbeddingOptions>>().Value)
            {
                Work = sp.GetService<WorkMeter>(),
            }));
        }
    }
}
