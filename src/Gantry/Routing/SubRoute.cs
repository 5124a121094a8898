using System.Text.RegularExpressions;

namespace Gantry.Routing;

/// <summary>
/// The unit the router orders and tests: a route restricted to its plain paths of one length,
/// to all its regex paths, or (for a route without paths) the whole route. Kong splits routes
/// this way so that a route's longer prefixes outrank its shorter ones.
/// </summary>
internal sealed class SubRoute
{
    public required RouteDefinition Route { get; init; }
    public required ulong Priority { get; init; }
    public string[]? Methods { get; init; }
    public HostPattern[]? Hosts { get; init; }
    public HeaderCondition[]? Headers { get; init; }
    public string[]? Snis { get; init; }
    /// <summary>Plain prefixes, all of one length; null with <see cref="Regexes"/> null means any path.</summary>
    public string[]? Prefixes { get; init; }
    public PathRegex[]? Regexes { get; init; }

    /// <summary>
    /// Tests the request against every field. Cheap predicates run first and the regex last,
    /// so a request rejected by method, host or header never runs it.
    /// </summary>
    public bool TryMatch<THeaders>(in RouteRequest request, ref THeaders headers, out string matchedPrefix, out PathRegex? regex, out Match? regexMatch)
        where THeaders : IRequestHeaders
    {
        matchedPrefix = "";
        regex = null;
        regexMatch = null;

        if (Methods is not null && !ContainsOrdinal(Methods, request.Method))
            return false;
        if (Hosts is not null && !MatchesHost(request.Host, request.Port))
            return false;
        if (Snis is not null && request.IsHttps && !MatchesSni(request.Sni))
            return false;
        if (Route.ReadsConnection
            && !(NetworkEndpoint.AnyMatches(Route.Sources, request.Connection.SourceIp, request.Connection.SourcePort)
                && NetworkEndpoint.AnyMatches(Route.Destinations, request.Connection.DestinationIp, request.Connection.DestinationPort)))
            return false;
        if (Headers is not null)
        {
            foreach (var header in Headers)
            {
                if (!header.Matches(headers.Get(header.Name)))
                    return false;
            }
        }
        if (Prefixes is not null)
        {
            foreach (var prefix in Prefixes)
            {
                if (request.Path.StartsWith(prefix, StringComparison.Ordinal))
                {
                    matchedPrefix = prefix;
                    return true;
                }
            }
            return false;
        }
        if (Regexes is not null)
        {
            foreach (var candidate in Regexes)
            {
                if (!request.Path.StartsWith(candidate.LiteralPrefix, StringComparison.Ordinal))
                    continue;
                var match = RouterRegex.Match(candidate.Regex, request.Path);
                if (match is not null)
                {
                    regex = candidate;
                    regexMatch = match;
                    matchedPrefix = match.Value;
                    return true;
                }
            }
            return false;
        }
        return true;
    }

    private static bool ContainsOrdinal(string[] values, string value)
    {
        foreach (var candidate in values)
        {
            if (string.Equals(candidate, value, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private bool MatchesHost(ReadOnlySpan<char> host, int port)
    {
        foreach (var pattern in Hosts!)
        {
            if (pattern.Matches(host, port))
                return true;
        }
        return false;
    }

    private bool MatchesSni(string? sni)
    {
        if (sni is null)
            return false;
        var name = sni.AsSpan().TrimEnd('.');
        foreach (var candidate in Snis!)
        {
            if (name.Equals(candidate, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}

/// <summary>The request as the router sees it, host and port already split, path already normalised.</summary>
internal readonly ref struct RouteRequest(string method, ReadOnlySpan<char> host, int port, string path, string? sni, bool isHttps,
    RequestConnection connection)
{
    public RequestConnection Connection { get; } = connection;
    public string Method { get; } = method;
    public ReadOnlySpan<char> Host { get; } = host;
    public int Port { get; } = port;
    public string Path { get; } = path;
    public string? Sni { get; } = sni;
    public bool IsHttps { get; } = isHttps;
}
