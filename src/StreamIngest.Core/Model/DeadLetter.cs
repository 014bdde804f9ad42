namespace StreamIngest.Model;

/// <summary>Input that could not be used, kept with the reason so nothing is lost silently.</summary>
public sealed record DeadLetter(string Source, string Reason, string Raw, string? Location, DateTimeOffset At)
{
    /// <summary>Raw payloads are capped so a hostile multi-megabyte frame cannot bloat the store.</summary>
    public const int MaxRawChars = 16_384;

    public static DeadLetter Create(string source, string reason, string raw, string? location, DateTimeOffset at) =>
        new(source, reason, raw.Length > MaxRawChars ? raw[..MaxRawChars] : raw, location, at);
}
