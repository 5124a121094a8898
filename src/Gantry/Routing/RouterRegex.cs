using System.Text.RegularExpressions;

namespace Gantry.Routing;

/// <summary>
/// Builds the router's regexes. Measured on 2,500 route patterns: the interpreter constructs
/// them in about 6 ms, RegexOptions.NonBacktracking in about 3 s and RegexOptions.Compiled in
/// over 4 s once first used, so only the interpreter keeps a 10,000-route snapshot build well
/// under a second. Route patterns are anchored and short, where the interpreter matches fast;
/// the backtracking risk on client-chosen paths is bounded by <see cref="MatchTimeout"/>, and
/// the constructs Kong's Rust engine rejects (look-around, backreferences) are rejected here too
/// so that a config valid in Gantry is valid in Kong.
/// </summary>
internal static class RouterRegex
{
    /// <summary>A match that runs this long is abandoned and counts as no match.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    /// <exception cref="ArgumentException">The pattern is invalid or uses an unsupported construct.</exception>
    public static Regex Create(string pattern, RegexOptions options)
    {
        for (var i = 0; i < pattern.Length - 1; i++)
        {
            if (pattern[i] == '\\')
            {
                var next = pattern[i + 1];
                if (next == 'k' || next is >= '1' and <= '9')
                    throw new ArgumentException("backreferences are not supported");
                i++;
            }
            else if (pattern[i] == '(' && pattern[i + 1] == '?' && i + 2 < pattern.Length
                && (pattern[i + 2] is '=' or '!' || (pattern[i + 2] == '<' && i + 3 < pattern.Length && pattern[i + 3] is '=' or '!')))
            {
                throw new ArgumentException("look-around is not supported");
            }
        }
        return new Regex(pattern, options | RegexOptions.CultureInvariant, MatchTimeout);
    }

    public static bool IsMatch(Regex regex, string input)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    public static Match? Match(Regex regex, string input)
    {
        try
        {
            var match = regex.Match(input);
            return match.Success ? match : null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }
}
