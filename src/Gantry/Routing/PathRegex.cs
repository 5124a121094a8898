using System.Text.RegularExpressions;

namespace Gantry.Routing;

/// <summary>
/// A <c>~</c> route path compiled once. Kong anchors the pattern by prefixing <c>^</c> (not by
/// wrapping it), so a top-level alternation is anchored on its first branch only; we do the same.
/// </summary>
internal sealed class PathRegex
{
    private PathRegex(Regex regex, string literalPrefix, int[] numbers, string[] names)
    {
        Regex = regex;
        LiteralPrefix = literalPrefix;
        GroupNumbers = numbers;
        GroupNames = names;
    }

    public Regex Regex { get; }

    /// <summary>
    /// Text every match must start with, used to index the regex in the prefix trie so that
    /// requests outside it never run the regex. Empty when nothing can be promised.
    /// </summary>
    public string LiteralPrefix { get; }

    public int[] GroupNumbers { get; }
    public string[] GroupNames { get; }

    public static PathRegex Compile(string pattern, RouteDefinition route)
    {
        Regex regex;
        try
        {
            // NonBacktracking: matching is linear in the path length whatever the pattern, so a
            // client-chosen 3,000-character URI cannot make a route pathological (ReDoS), and it
            // accepts the same family of patterns as Kong's Rust regex engine (no look-around, no
            // backreferences), rejecting the rest here at build time. Construction is also far
            // cheaper than RegexOptions.Compiled, which emits IL per pattern and would make a
            // snapshot with thousands of regex routes take seconds to build.
            regex = new Regex("^" + pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new RouterConfigurationException(
                $"{route.Describe()}: path '~{pattern}' is not a regex the router accepts ({e.Message}); look-around and backreferences are not supported.", e);
        }
        return new PathRegex(regex, LiteralPrefixOf(pattern), regex.GetGroupNumbers(), regex.GetGroupNames());
    }

    private static string LiteralPrefixOf(string pattern)
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
