namespace StreamIngest.Feeds;

/// <summary>
/// Orders numeric ids given as strings (X and Mastodon snowflakes) by value without parsing:
/// a longer id is larger, equal lengths compare digit by digit.
/// </summary>
public sealed class SnowflakeIdComparer : IComparer<string>
{
    public static readonly SnowflakeIdComparer Instance = new();

    public int Compare(string? x, string? y) =>
        x is null || y is null
            ? (x is null ? (y is null ? 0 : -1) : 1)
            : x.Length != y.Length ? x.Length.CompareTo(y.Length) : string.CompareOrdinal(x, y);

    /// <summary>True when <paramref name="id"/> is newer than <paramref name="current"/> (or there is none yet).</summary>
    public static bool IsNewer(string id, string? current) => current is null || Instance.Compare(id, current) > 0;
}
