using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using StreamIngest.Embed;
using StreamIngest.Host.Api;
using StreamIngest.Retrieve;
using StreamIngest.Store;
using StreamIngest.Watches;

namespace StreamIngest.Host.Watches;

public sealed record WebhookBody(string? Url, string? Secret);

public sealed record WatchBody : FilterBody
{
    public string? Query { get; init; }

    [JsonPropertyName("min_score")]
    public double? MinScore { get; init; }

    /// <summary>
    /// The least estimated relevance (0–1, as <c>min_score</c> on <c>/v1/search</c> and <c>score.relevance</c>) instead of
    /// a cosine: turned into the model's cosine for it, so one threshold means the same with either packaged model.
    /// </summary>
    [JsonPropertyName("min_relevance")]
    public double? MinRelevance { get; init; }

    /// <summary><c>exclude</c>: no post with a safety label matches; <c>include</c> (default): labelled posts match too.</summary>
    public string? Safety { get; init; }

    public WebhookBody? Webhook { get; init; }
}

/// <summary>A watch as the API shows it: never the webhook secret. <c>MinRelevance</c>: the estimate its cosine stands for, where the model is calibrated.</summary>
public sealed record WatchDto(
    string Id, string Query, double MinScore, string? Source, string? Lang, string? Entity, PostFilter Filter, string? WebhookUrl, DateTimeOffset CreatedAt, string Events,
    double? MinRelevance = null)
{
    public static WatchDto From(Watch w, RelevanceCalibration? calibration = null) => new(
        w.Id, w.Query, w.MinScore, w.Source, w.Lang, w.Entity is null ? null : $"{w.Entity.Kind}:{w.Entity.Value}".ToLowerInvariant(), w.Filter,
        w.WebhookUrl?.ToString(), w.CreatedAt, $"/v1/watches/{w.Id}/events", calibration is null ? null : Math.Round(calibration.Estimate(w.MinScore), 4));
}

/// <summary>What a watch pushes for each matching post (SSE data and webhook body alike).</summary>
public sealed record WatchEventDto(string Id, string WatchId, long Seq, double Score, DateTimeOffset MatchedAt, SearchHitDto? Post);

/// <summary>
/// Standing queries: <c>POST /v1/watches</c> saves a query with filters and an optional webhook; new matching posts
/// are pushed on <c>GET /v1/watches/{id}/events</c> (server-sent events whose ids resume with <c>Last-Event-ID</c>)
/// and to the webhook (<see cref="WebhookDeliveryWorker"/>).
/// </summary>
public static class WatchesApi
{
    private const int MaxQueryLength = 1000;

    public static IEndpointRouteBuilder MapWatchesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/watches", CreateAsync).WithName("CreateWatch")
            .WithSummary("Save a standing query; new matching posts are pushed (SSE and webhook)")
            .WithDescription("Example body: {\"query\": \"wildfire evacuation orders\", \"min_score\": 0.45, \"entity\": \"#wildfire\", \"webhook\": {\"url\": \"https://example.org/hook\", \"secret\": \"at-least-16-chars\"}}");
        app.MapGet("/v1/watches", ListAsync).WithName("ListWatches").WithSummary("Every saved watch (never its webhook secret)");
        app.MapGet("/v1/watches/{id}", GetAsync).WithName("GetWatch").WithSummary("One watch");
        app.MapDelete("/v1/watches/{id}", DeleteAsync).WithName("DeleteWatch").WithSummary("Delete a watch with its events and delivery log");
        app.MapGet("/v1/watches/{id}/events", EventsAsync).WithName("WatchEvents")
            .WithSummary("Server-sent events: each new matching post; send Last-Event-ID (or ?after=) to resume");
        app.MapGet("/v1/watches/{id}/deliveries", DeliveriesAsync).WithName("WatchDeliveries").WithSummary("The webhook delivery log, newest first");
        return app;
    }

    public static async Task<Results<Created<WatchDto>, ValidationProblem>> CreateAsync(
        WatchBody body, IEmbedder embedder, IWatchStore store, WatchMatcher matcher, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var query = body.Query?.Trim();
        if (string.IsNullOrEmpty(query) || query.Length > MaxQueryLength)
        {
            errors["query"] = [$"'query' is required, at most {MaxQueryLength} characters."];
        }

        if (body.MinScore is < -1 or > 1)
        {
            errors["min_score"] = ["'min_score' must be a cosine from -1 to 1."];
        }

        var calibration = RelevanceCalibration.For(embedder.Model);
        if (body.MinRelevance is { } wanted)
        {
            if (body.MinScore is not null)
            {
                errors["min_relevance"] = ["Give 'min_relevance' (an estimated relevance) or 'min_score' (a cosine), not both."];
            }
            else if (wanted is <= 0 or >= 1)
            {
                errors["min_relevance"] = ["'min_relevance' must be an estimated relevance between 0 and 1 (exclusive)."];
            }
            else if (calibration is null)
            {
                errors["min_relevance"] = [$"'min_relevance' needs an embedding model calibrated here; '{embedder.Model}' is not: give 'min_score' (a cosine)."];
            }
        }

        var entity = body.Entity is null ? null : EntityFilter.TryParse(body.Entity);
        if (body.Entity is not null && entity is null)
        {
            errors["entity"] = ["'entity' must be #hashtag, $CASHTAG or @mention."];
        }

        var filter = body.Signals(body.Safety).Validate(errors);

        Uri? webhook = null;
        if (body.Webhook is not null)
        {
            if (!Uri.TryCreate(body.Webhook.Url, UriKind.Absolute, out webhook) || webhook.Scheme is not ("http" or "https"))
            {
                errors["webhook.url"] = ["'webhook.url' must be an absolute http(s) URL."];
            }

            if (body.Webhook.Secret is not { Length: >= 16 })
            {
                errors["webhook.secret"] = ["'webhook.secret' is required with a webhook, at least 16 characters: it signs every delivery (HMAC-SHA256)."];
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "Invalid watch");
        }

        var watch = new Watch
        {
            Id = "w_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Query = query!,
            Vector = await embedder.EmbedQueryAsync(query!, cancellationToken),
            MinScore = body.MinRelevance is { } relevance ? Math.Round(calibration!.ScoreFor(relevance), 4) : body.MinScore ?? Watch.DefaultMinScore,
            Source = body.Source,
            Lang = body.Lang?.ToLowerInvariant(),
            Entity = entity,
            Filter = filter,
            WebhookUrl = webhook,
            WebhookSecret = body.Webhook?.Secret,
            CreatedAt = timeProvider.GetUtcNow(),
        };
        await store.AddAsync(watch, cancellationToken);
        matcher.Reload();
        return TypedResults.Created($"/v1/watches/{watch.Id}", WatchDto.From(watch, calibration));
    }

    public static async Task<Ok<WatchDto[]>> ListAsync(IWatchStore store, IEmbedder embedder, CancellationToken cancellationToken) =>
        TypedResults.Ok((await store.ListAsync(cancellationToken)).Select(w => WatchDto.From(w, RelevanceCalibration.For(embedder.Model))).ToArray());

    public static async Task<Results<Ok<WatchDto>, ProblemHttpResult>> GetAsync(string id, IWatchStore store, IEmbedder embedder, CancellationToken cancellationToken) =>
        await FindAsync(store, id, cancellationToken) is { } w ? TypedResults.Ok(WatchDto.From(w, RelevanceCalibration.For(embedder.Model))) : NotFound(id);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, IWatchStore store, WatchMatcher matcher, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(id, cancellationToken))
        {
            return NotFound(id);
        }

        matcher.Reload();
        return TypedResults.NoContent();
    }

    public static async Task<IResult> EventsAsync(
        string id, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, string? after, HttpContext http, IWatchStore store, IPostStore posts,
        WatchMatcher matcher, IOptions<WatchOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (await FindAsync(store, id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var from = lastEventId ?? after;
        long seq = 0;
        if (from is not null && !long.TryParse(from, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seq))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["Last-Event-ID"] = ["'Last-Event-ID' (or 'after') must be an event id from this stream."] }, title: "Invalid resume point");
        }

        // Headers go out at once, so a client knows it is subscribed before the first match.
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.WriteAsync(": subscribed\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
        try
        {
            await foreach (var (eventId, dto) in StreamAsync(id, seq, store, posts, matcher, options.Value, timeProvider, cancellationToken))
            {
                var data = dto is null ? null : JsonSerializer.Serialize(dto, json.Value.SerializerOptions);
                await http.Response.WriteAsync(data is null ? ": keep-alive\n\n" : $"id: {eventId}\nevent: match\ndata: {data}\n\n", cancellationToken);
                await http.Response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away
        }

        return TypedResults.Empty;
    }

    public static async Task<Results<Ok<IReadOnlyList<WatchDelivery>>, ProblemHttpResult>> DeliveriesAsync(string id, IWatchStore store, CancellationToken cancellationToken) =>
        await FindAsync(store, id, cancellationToken) is null ? NotFound(id) : TypedResults.Ok(await store.ListDeliveriesAsync(id, 200, cancellationToken));

    /// <summary>
    /// The watch's events after <paramref name="after"/>, then each new one as it is recorded: woken at once by matches
    /// made in this process, and reading the store every <see cref="WatchOptions.PollSeconds"/> for those made by
    /// another (the process role); a null event after 15 s of quiet (keep-alive).
    /// </summary>
    private static async IAsyncEnumerable<(long Id, WatchEventDto? Event)> StreamAsync(
        string id, long after, IWatchStore store, IPostStore posts, WatchMatcher matcher, WatchOptions options, TimeProvider timeProvider, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var keepAlive = TimeSpan.FromSeconds(15);
        var lastSent = timeProvider.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            var wake = matcher.WaitForEventsAsync(cancellationToken); // taken before reading: no event slips between the two
            var events = await store.ReadEventsAsync(id, after, 100, cancellationToken);
            foreach (var e in events)
            {
                yield return (e.Seq, await ToDtoAsync(e, posts, cancellationToken));
                after = e.Seq;
                lastSent = timeProvider.GetUtcNow();
            }

            if (events.Count > 0)
            {
                continue;
            }

            var quietFor = timeProvider.GetUtcNow() - lastSent;
            if (quietFor >= keepAlive)
            {
                yield return (after, null);
                lastSent = timeProvider.GetUtcNow();
                continue;
            }

            var poll = TimeSpan.FromSeconds(options.PollSeconds);
            var wait = poll < keepAlive - quietFor ? poll : keepAlive - quietFor; // read again at the poll, or send the keep-alive when due
            try
            {
                await wake.WaitAsync(wait, timeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    internal static async Task<WatchEventDto> ToDtoAsync(WatchEvent e, IPostStore posts, CancellationToken cancellationToken)
    {
        var post = await posts.GetAsync(e.PostId, cancellationToken);
        return new WatchEventDto($"{e.WatchId}:{e.Seq}", e.WatchId, e.Seq, e.Score, e.At,
            post is null ? null : SearchHitDto.From(new SearchHit(post, new ScoreParts(e.Score, null, 1, 1, e.Score, e.Score), 0)));
    }

    private static Task<Watch?> FindAsync(IWatchStore store, string id, CancellationToken cancellationToken) => store.GetAsync(id, cancellationToken);

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Watch not found", detail: $"No watch has id '{id}'.");
}
