using System.Text.RegularExpressions;
using Microsoft.Extensions.Primitives;

namespace Gantry.Routing;

/// <summary>One header of a route: the request must carry it with one of the accepted values.</summary>
internal sealed class HeaderCondition(string name, string[] plainValues, Regex[] patterns)
{
    public string Name { get; } = name;

    public bool Matches(StringValues values)
    {
        // Plain values first: a request that matches one never pays for a regex.
        for (var v = 0; v < values.Count; v++)
        {
            var value = values[v];
            if (value is null)
                continue;
            foreach (var plain in plainValues)
            {
                if (string.Equals(value, plain, StringComparison.OrdinalIgnoreCase))
                    return true;
            }
        }
        if (patterns.Length == 0)
            return false;
        for (var v = 0; v < values.Count; v++)
        {
            var value = values[v];
            if (value is null)
                continue;
            foreach (var pattern in patterns)
            {
                if (RouterRegex.IsMatch(pattern, value))
                    return true;
            }
        }
        return false;
    }
}
