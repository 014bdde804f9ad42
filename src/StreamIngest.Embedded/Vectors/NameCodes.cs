using System.Collections.Concurrent;

namespace StreamIngest.Embedded.Vectors;

/// <summary>
/// Small integers for source and language names, as the in-memory indexes keep them per row (two bytes instead of a
/// string reference). Thread-safe; a name keeps its code for the index's life.
/// </summary>
public sealed class NameCodes
{
    /// <summary>The code of "no name" (a post without a language).</summary>
    public const short None = short.MinValue;

    /// <summary>The code <see cref="CodeOf"/> gives a name never stored: it matches no row.</summary>
    public const short Unknown = -2;

    private readonly ConcurrentDictionary<string, short> _codes = new(StringComparer.Ordinal);
    private readonly Lock _adding = new();

    /// <summary>The code of a name as a filter takes it: <see cref="None"/> for null, <see cref="Unknown"/> for a name never stored.</summary>
    public short CodeOf(string? name) => name is null ? None : _codes.TryGetValue(name, out var c) ? c : Unknown;

    /// <summary>The code of a name being stored, given one when new.</summary>
    public short Add(string? name)
    {
        if (name is null)
        {
            return None;
        }

        if (_codes.TryGetValue(name, out var code))
        {
            return code;
        }

        lock (_adding)
        {
            return _codes.GetOrAdd(name, (short)_codes.Count);
        }
    }
}
