using Microsoft.Data.Sqlite;

namespace StreamIngest.Embedded.Sqlite;

/// <summary>
/// <c>IN (…)</c> lists as one bound parameter per value, so SQLite plans an index lookup per value
/// (an <c>IN (SELECT value FROM json_each(…))</c> list can end up as a table scan).
/// </summary>
internal static class SqlList
{
    public static string Parameters<T>(SqliteCommand cmd, IEnumerable<T> values)
    {
        var names = new List<string>();
        foreach (var v in values)
        {
            var name = "$in" + names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            cmd.Parameters.AddWithValue(name, v);
            names.Add(name);
        }

        return names.Count == 0 ? "NULL" : string.Join(',', names);
    }
}
