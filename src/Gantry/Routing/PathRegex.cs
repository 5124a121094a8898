using System.Text.RegularExpressions;

namespace Gantry.Routing;

/// <summary>
/// A <c>~</c> route path compiled once. Kong anchors the pattern by prefixing <c>^</c> (not by
/// wrapping it), so a top-level alternation is anchored on its first branch only; we do the same.
/// </summary>
internal sealed class PathRegex
{
    private PathRegex(Regex regex, string literalPrefix, int[] positional, string[] names)
    {
        Regex = regex;
        LiteralPrefix = literalPrefix;
        PositionalGroups = positional;
        Names = names;
    }

    public Regex Regex { get; }

    /// <summary>
    /// Text every match must start with, used to index the regex in the prefix trie so that
    /// requests outside it never run the regex. Empty when nothing can be promised.
    /// </summary>
    public string LiteralPrefix { get; }

    /// <summary>
    /// .NET group numbers in Kong's (left-to-right) numbering: .NET numbers unnamed groups
    /// before named ones, while Kong numbers every group by its opening parenthesis.
    /// </summary>
    public int[] PositionalGroups { get; }

    /// <summary>The named groups, looked up by name on a match.</summary>
    public string[] Names { get; }

    public static PathRegex Compile(string pattern, RouteDefinition route)
    {
        if (Error(pattern) is { } error)
            throw new RouterConfigurationException($"{route.Describe()}: path '~{pattern}': {error}");
        var regex = RouterRegex.Create("^" + pattern, RegexOptions.None);
        var (positional, names) = GroupsInPatternOrder(pattern, regex);
        return new PathRegex(regex, LiteralPrefixOf(pattern), positional, names);
    }

    /// <summary>Why the router cannot run this path regex (the part after <c>~</c>), in Kong's words; null when it can.</summary>
    public static string? Error(string pattern)
    {
        try
        {
            _ = RouterRegex.Create("^" + pattern, RegexOptions.None);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return $"invalid regex: '{pattern}' ({e.Message})";
        }
    }

    private static (int[] Positional, string[] Names) GroupsInPatternOrder(string pattern, Regex regex)
    {
        var positional = new List<int> { 0 };
        var names = new List<string>();
        var unnamed = 0;
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                i++;
                continue;
            }
            if (inClass)
            {
                inClass = c != ']';
                continue;
            }
            if (c == '[')
            {
                inClass = true;
                continue;
            }
            if (c != '(')
                continue;
            if (i + 1 >= pattern.Length || pattern[i + 1] != '?')
            {
                positional.Add(++unnamed);
                continue;
            }
            // (?<name>…) and (?'name'…) capture; (?<=…), (?<!…) and every other (?…) do not.
            if (i + 2 < pattern.Length && pattern[i + 2] is '<' or '\'' && i + 3 < pattern.Length && pattern[i + 3] is not '=' and not '!')
            {
                var close = pattern[i + 2] == '<' ? '>' : '\'';
                var end = pattern.IndexOf(close, i + 3);
                if (end > 0)
                {
                    var name = pattern[(i + 3)..end];
                    positional.Add(regex.GroupNumberFromName(name));
                    names.Add(name);
                }
            }
        }
        return (positional.ToArray(), names.ToArray());
    }

    internal static string LiteralPrefixOf(string pattern)
    {
        // Any '|' may put an unanchored branch at the top level, so promise nothing.
        if (pattern.Contains('|'))
            return "";
        var length = 0;
        while (length < pattern.Length && !IsMeta(pattern[length]))
            length++;
        // "ab?" or "ab*" makes the last literal optional, so it is not part of the promise.
        if (length < pattern.Length && length > 0 && pattern[length] is '?' or '*' or '{')
            length--;
        return pattern[..length];
    }

    private static bool IsMeta(char c) =>
        c is '\\' or '.' or '*' or '+' or '?' or '(' or ')' or '[' or ']' or '{' or '}' or '^' or '$' or '|' or '#' or ' ';
}
