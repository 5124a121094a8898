using System.Text.RegularExpressions;

namespace Gantry.Routing;

/// <summary>
/// Validates one route definition and turns it into its sub-routes, with every predicate
/// pre-bound (lowercased hosts, uppercased methods, compiled regexes) so matching does no
/// parsing. Errors name the route and the value at fault.
/// </summary>
internal static class RouteCompiler
{
    private const string RegexMarker = "~";
    private const string HeaderRegexMarker = "~*";

    public static void Compile(RouteDefinition route, List<SubRoute> output)
    {
        // Writes refuse such a route; one found in the store is a route of the expressions flavor (its
        // expression is not read under this flavor), and compiled without matchers it would take every request.
        if (route.Protocols.Any(p => p is "http" or "https" or "grpc" or "grpcs")
            && route.Methods is not { Count: > 0 } && route.Hosts is not { Count: > 0 } && route.Paths is not { Count: > 0 }
            && route.Headers is not { Count: > 0 } && route.Snis is not { Count: > 0 })
            throw new RouterConfigurationException($"{route.Describe()}: has no methods, hosts, paths or headers to match (a route with an expression needs router_flavor = expressions).");
        var methods = CompileMethods(route);
        var hosts = CompileHosts(route);
        var headers = CompileHeaders(route);
        var snis = CompileSnis(route);

        var plainByLength = new SortedDictionary<int, List<string>>();
        var regexes = new List<PathRegex>();
        if (route.Paths is not null)
        {
            foreach (var path in route.Paths)
            {
                if (string.IsNullOrEmpty(path))
                    throw new RouterConfigurationException($"{route.Describe()}: paths may not contain an empty value.");
                if (path.StartsWith(RegexMarker, StringComparison.Ordinal))
                {
                    regexes.Add(PathRegex.Compile(path[RegexMarker.Length..], route));
                    continue;
                }
                if (path[0] != '/')
                    throw new RouterConfigurationException($"{route.Describe()}: path '{path}' must start with '/' (or with '~' for a regex).");
                if (!plainByLength.TryGetValue(path.Length, out var sameLength))
                    plainByLength.Add(path.Length, sameLength = []);
                sameLength.Add(path);
            }
        }

        var fieldCount = (methods is null ? 0 : 1) + (hosts is null ? 0 : 1) + (headers is null ? 0 : 1)
            + (snis is null ? 0 : 1) + (plainByLength.Count + regexes.Count == 0 ? 0 : 1);
        var plainHostsOnly = hosts is not null && Array.TrueForAll(hosts, static h => h.PatternKind == HostPattern.Kind.Exact);
        var headerCount = headers?.Length ?? 0;

        SubRoute Make(string[]? prefixes, PathRegex[]? pathRegexes, int prefixLength) => new()
        {
            Route = route,
            Priority = RoutePriority.Compute(fieldCount, plainHostsOnly, headerCount, pathRegexes is not null, route.RegexPriority, prefixLength),
            Methods = methods,
            Hosts = hosts,
            Headers = headers,
            Snis = snis,
            Prefixes = prefixes,
            Regexes = pathRegexes,
        };

        foreach (var (length, prefixes) in plainByLength)
            output.Add(Make(prefixes.ToArray(), null, length));
        if (regexes.Count > 0)
            output.Add(Make(null, regexes.ToArray(), 0));
        if (plainByLength.Count == 0 && regexes.Count == 0)
            output.Add(Make(null, null, 0));
    }

    /// <summary>Why the router cannot run a header value; null for a plain value or a regex (<c>~*…</c>) it can run.</summary>
    public static string? HeaderRegexError(string value)
    {
        if (!value.StartsWith(HeaderRegexMarker, StringComparison.Ordinal))
            return null;
        try
        {
            _ = RouterRegex.Create(value[HeaderRegexMarker.Length..], RegexOptions.IgnoreCase);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return $"invalid regex: '{value[HeaderRegexMarker.Length..]}' ({e.Message})";
        }
    }

    private static string[]? CompileMethods(RouteDefinition route)
    {
        if (route.Methods is null || route.Methods.Count == 0)
            return null;
        var methods = new string[route.Methods.Count];
        for (var i = 0; i < methods.Length; i++)
        {
            var method = route.Methods[i];
            if (string.IsNullOrWhiteSpace(method))
                throw new RouterConfigurationException($"{route.Describe()}: methods may not contain an empty value.");
            methods[i] = method.ToUpperInvariant();
        }
        return methods;
    }

    private static HostPattern[]? CompileHosts(RouteDefinition route)
    {
        if (route.Hosts is null || route.Hosts.Count == 0)
            return null;
        var hosts = new HostPattern[route.Hosts.Count];
        for (var i = 0; i < hosts.Length; i++)
            hosts[i] = HostPattern.Parse(route.Hosts[i], route);
        return hosts;
    }

    private static string[]? CompileSnis(RouteDefinition route)
    {
        if (route.Snis is null || route.Snis.Count == 0)
            return null;
        var snis = new string[route.Snis.Count];
        for (var i = 0; i < snis.Length; i++)
            snis[i] = route.Snis[i].TrimEnd('.').ToLowerInvariant();
        return snis;
    }

    private static HeaderCondition[]? CompileHeaders(RouteDefinition route)
    {
        if (route.Headers is null || route.Headers.Count == 0)
            return null;
        var conditions = new List<HeaderCondition>(route.Headers.Count);
        foreach (var (name, values) in route.Headers)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new RouterConfigurationException($"{route.Describe()}: a header name is empty.");
            if (name.Equals("host", StringComparison.OrdinalIgnoreCase))
                throw new RouterConfigurationException($"{route.Describe()}: match the Host header with 'hosts', not 'headers'.");
            if (values.Count == 0)
                throw new RouterConfigurationException($"{route.Describe()}: header '{name}' needs at least one value.");
            var plain = new List<string>();
            var patterns = new List<Regex>();
            foreach (var value in values)
            {
                if (!value.StartsWith(HeaderRegexMarker, StringComparison.Ordinal))
                {
                    plain.Add(value);
                    continue;
                }
                if (HeaderRegexError(value) is { } error)
                    throw new RouterConfigurationException($"{route.Describe()}: header '{name}': {error}");
                patterns.Add(RouterRegex.Create(value[HeaderRegexMarker.Length..], RegexOptions.IgnoreCase));
            }
            conditions.Add(new HeaderCondition(name.ToLowerInvariant(), plain.ToArray(), patterns.ToArray()));
        }
        return conditions.ToArray();
    }
}
