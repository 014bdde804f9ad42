using System.Xml;

namespace StreamIngest.Host.Api;

/// <summary>ISO-8601 durations in query parameters (<c>PT1H</c>, <c>P2D</c>): parsed once, the same way, for every endpoint.</summary>
internal static class IsoDuration
{
    /// <summary>False for text that is not a duration, or one too large to represent.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        try
        {
            value = XmlConvert.ToTimeSpan(text ?? string.Empty);
            return true;
        }
        catch (FormatException)
        {
        }
        catch (OverflowException)
        {
        }

        value = default;
        return false;
    }

    /// <summary>
    /// An optional duration parameter within [<paramref name="min"/>, <paramref name="max"/>]: <paramref name="fallback"/> when absent,
    /// else the value, or an error under <paramref name="name"/> saying "must be an ISO-8601 duration {<paramref name="range"/>}".
    /// </summary>
    public static TimeSpan Parameter(string name, string? text, TimeSpan fallback, TimeSpan min, TimeSpan max, string range, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return fallback;
        }

        if (TryParse(text, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors[name] = [$"'{name}' must be an ISO-8601 duration {range}."];
        return fallback;
    }
}
