namespace StreamIngest.Feeds.X;

public sealed class XRule
{
    public string Value { get; set; } = string.Empty;

    public string? Tag { get; set; }
}
