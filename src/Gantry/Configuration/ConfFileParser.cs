using System.Text;

namespace Gantry.Configuration;

/// <summary>One <c>name = value</c> line of a conf file.</summary>
internal readonly record struct ConfFileEntry(int Line, string Name, string Value);

/// <summary>
/// Reads the kong.conf syntax: <c>name = value</c> per line, <c>#</c> starts a comment unless
/// written <c>\#</c>, blank lines are skipped, names and values are trimmed.
/// </summary>
internal static class ConfFileParser
{
    public static List<ConfFileEntry> Parse(string text, string origin, List<ConfError> errors)
    {
        var entries = new List<ConfFileEntry>();
        var lineNumber = 0;
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } raw)
        {
            lineNumber++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0)
            {
                errors.Add(new ConfError(null, $"expected 'name = value', got '{line}'", $"{origin} line {lineNumber}"));
                continue;
            }
            entries.Add(new ConfFileEntry(lineNumber, line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }
        return entries;
    }

    /// <summary>Drops an unescaped <c>#</c> and what follows, and turns <c>\#</c> into <c>#</c>.</summary>
    internal static string StripComment(string line)
    {
        if (!line.Contains('#'))
        {
            return line;
        }
        var result = new StringBuilder(line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] == '#')
            {
                result.Append('#');
                i++;
            }
            else if (line[i] == '#')
            {
                break;
            }
            else
            {
                result.Append(line[i]);
            }
        }
        return result.ToString();
    }
}
