using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamIngest.Model;

/// <summary>The one JSON shape of a post: snake_case names, nulls omitted. Used by stores and the API alike.</summary>
public static class PostJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        if (!options.Converters.OfType<JsonStringEnumConverter>().Any())
        {
            options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        }

        return options;
    }

    public static string Serialize(Post post) => JsonSerializer.Serialize(post, Options);

    public static Post Deserialize(string json) =>
        JsonSerializer.Deserialize<Post>(json, Options) ?? throw new JsonException("post document is null");

    /// <summary>From UTF-8 as stored (SQLite keeps TEXT as UTF-8): no UTF-16 string on the way.</summary>
    public static Post Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize<Post>(utf8Json, Options) ?? throw new JsonException("post document is null");
}
