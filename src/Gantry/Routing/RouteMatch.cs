namespace Gantry.Routing;

/// <summary>
/// What the router found for a request. A struct, so that a match costs no allocation beyond
/// the upstream path when it differs from the request path (and the captures of a regex route).
/// </summary>
public readonly struct RouteMatch(RouteDefinition route, string upstreamPath, string strippedPrefix, RouteCaptures? captures)
{
    public RouteDefinition Route { get; } = route;

    /// <summary>The path to send upstream (no query), per strip_path and path_handling v0.</summary>
    public string UpstreamPath { get; } = upstreamPath;

    /// <summary>The text removed by strip_path (X-Forwarded-Prefix); empty when nothing was stripped.</summary>
    public string StrippedPrefix { get; } = strippedPrefix;

    /// <summary>Captures of the regex path that matched; null for plain-prefix and path-less routes.</summary>
    public RouteCaptures? Captures { get; } = captures;
}

/// <summary>
/// Regex captures as Kong exposes them to plugins and hash_on=uri_capture: positional groups
/// (0 is the whole match; a group that took no part is empty) and named groups that took part.
/// </summary>
public sealed class RouteCaptures(IReadOnlyList<string> unnamed, IReadOnlyDictionary<string, string> named)
{
    public IReadOnlyList<string> Unnamed { get; } = unnamed;
    public IReadOnlyDictionary<string, string> Named { get; } = named;
}
