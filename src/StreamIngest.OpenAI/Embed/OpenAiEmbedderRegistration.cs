using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics.Metrics;
using Azure.Identity;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenAI;
using StreamIngest.Embed;
using StreamIngest.Hosting;

namespace StreamIngest.OpenAI.Embed;

/// <summary>Registers the remote embedder behind <see cref="IEmbedder"/> (with the query cache) and its usage counters.</summary>
public static class OpenAiEmbedderRegistration
{
    /// <param name="configure">Last touches on the embedder once built, e.g. where per-request token counts go.</param>
    public static void AddOpenAiEmbedder(this IHostApplicationBuilder builder, Action<IServiceProvider, OpenAiEmbedder>? configure = null)
    {
        builder.Services.AddOptions<OpenAiEmbeddingOptions>().BindConfiguration(OpenAiEmbeddingOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OpenAiEmbeddingOptions>>(new SectionValidator<OpenAiEmbeddingOptions>(OpenAiEmbeddingOptions.Section, o => o.Validate()));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OpenAiEmbeddingOptions>>().Value;
            var embedder = new OpenAiEmbedder(CreateGenerator(o), o, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IMeterFactory>());
            configure?.Invoke(sp, embedder);
            return embedder;
        });
        builder.Services.AddSingleton<IEmbeddingUsage>(sp => sp.GetRequiredService<OpenAiEmbedder>());

        // Queries asked again (dashboards, watches, agents) reuse their vector, as with the local model.
        builder.Services.AddSingleton<IEmbedder>(sp => new CachedQueryEmbedder(sp.GetRequiredService<OpenAiEmbedder>()));
    }

    /// <summary>
    /// The OpenAI client for the endpoint, with a key or an Entra ID token (the Azure OpenAI v1 API takes both), its
    /// own retries off (the <c>openai-embeddings</c> pipeline retries), as an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.
    /// </summary>
    public static IEmbeddingGenerator<string, Embedding<float>> CreateGenerator(OpenAiEmbeddingOptions o)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(o.Endpoint!),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
        };
#pragma warning disable OPENAI001 // token authentication: the constructor Microsoft's Azure OpenAI v1 documentation uses
        var client = o.ApiKey is { Length: > 0 } key
            ? new OpenAIClient(new ApiKeyCredential(key), clientOptions)
            : new OpenAIClient(new BearerTokenPolicy(new DefaultAzureCredential(), o.TokenScope), clientOptions);
#pragma warning restore OPENAI001
        return client.GetEmbeddingClient(o.Model).AsIEmbeddingGenerator(o.Dimensions);
    }
}
