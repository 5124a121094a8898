using System.Collections.Frozen;
using System.Net;
using System.Text.RegularExpressions;
using Gantry.Routing.Expressions;

namespace Gantry.Routing;

/// <summary>
/// Kong's traditional_compatible router, compiled once from a snapshot's routes and immutable
/// afterwards, so request threads share it without locks.
/// <para>
/// Sub-routes are sorted by priority; a sub-route's rank is its index in that order, and the
/// match is the matching sub-route of lowest rank. To avoid testing every route, sub-routes are
/// indexed first by host (a frozen dictionary of exact hosts, plus one bucket for routes with a
/// wildcard host or no host) and then by path in a <see cref="PrefixTrie"/>. A request looks up
/// its host bucket and the shared bucket, walks each trie along its path and tests only the
/// ranks listed on the way, stopping early in each list once a better rank has matched.
/// </para>
/// </summary>
public sealed class Router
{
    private readonly SubRoute[] _subRoutes;
    private readonly FrozenDictionary<string, PrefixTrie> _exactHosts;
    private readonly FrozenDictionary<string, PrefixTrie>.AlternateLookup<ReadOnlySpan<char>> _exactHostLookup;
    private readonly PrefixTrie _anyHost;

    // Each route's sub-routes, or why it does not compile, by the definition they were compiled from: a
    // rebuild given this router compiles again only the definitions it has not seen.
    private readonly Dictionary<RouteDefinition, Compiled> _compiled;

    private sealed record Compiled(SubRoute[] SubRoutes, RouterConfigurationException? Error, ExpressionNode? Expression = null);

    /// <summary>
    /// Kong's ATC key for an expression route is this bit pattern or'ed with its priority (at most 2^46 − 1). The
    /// highest key an HTTP route's traditional fields can earn (<see cref="RoutePriority"/>: five fields, plain hosts,
    /// 255 headers) stays below it, so Kong never interleaves the two kinds: every expression route is tried first,
    /// and one ordered list would rank them exactly as the two lists here do.
    /// </summary>
    internal const ulong ExpressionRouteKey = 0xFFUL << 56;

    // Routes with an expression (router_flavor = expressions), highest priority first, ties to the larger id as in
    // Kong's ATC router; tried before the traditional routes (see ExpressionRouteKey). Empty under the other flavors. As Kong's prefilter
    // does, each is indexed by the path prefix it requires (none: the root), so a request tests only the routes
    // listed along its path, best rank first.
    private readonly (RouteDefinition Route, ExpressionNode Expression)[] _expressionRoutes;
    private readonly PrefixTrie _expressionPaths;

    private Router(SubRoute[] subRoutes, FrozenDictionary<string, PrefixTrie> exactHosts, PrefixTrie anyHost, Dictionary<RouteDefinition, Compiled> compiled,
        (RouteDefinition, ExpressionNode)[] expressionRoutes)
    {
        _compiled = compiled;
        _expressionRoutes = expressionRoutes;
        var paths = new PrefixTrie.Builder();
        for (var rank = 0; rank < expressionRoutes.Length; rank++)
            paths.Add(ExpressionPrefix.Of(expressionRoutes[rank].Item2), rank);
        _expressionPaths = paths.Build();
        _subRoutes = subRoutes;
        _exactHosts = exactHosts;
        _exactHostLookup = exactHosts.GetAlternateLookup<ReadOnlySpan<char>>();
        _anyHost = anyHost;
        _readsConnection = subRoutes.Any(static subRoute => subRoute.Route.ReadsConnection);
    }

    public int RouteCount { get; private init; }

    /// <summary>
    /// Whether any route reads the connection (an expression, or an HTTP route's sources or destinations), so
    /// callers gather <see cref="RequestConnection"/> only then. The name predates the second kind.
    /// </summary>
    public bool HasExpressionRoutes => _expressionRoutes.Length > 0 || _readsConnection;

    private readonly bool _readsConnection;

    public static Router Build(IReadOnlyList<RouteDefinition> routes) => Build(routes, static (_, error) => throw error);

    /// <summary>
    /// Builds the router from every route that compiles; each route that does not is handed to <paramref name="invalid"/> and left out.
    /// Given the <paramref name="previous"/> router, the definitions it was built from (the same instances) are not compiled again.
    /// </summary>
    public static Router Build(IReadOnlyList<RouteDefinition> routes, Action<RouteDefinition, RouterConfigurationException> invalid, Router? previous = null)
    {
        var subRoutes = new List<SubRoute>(routes.Count + routes.Count / 4);
        var compiledNow = new Dictionary<RouteDefinition, Compiled>(routes.Count, ReferenceEqualityComparer.Instance);
        var output = new List<SubRoute>(4);
        var seen = new HashSet<Guid>();
        var expressionRoutes = new List<(RouteDefinition, ExpressionNode)>();
        foreach (var route in routes)
        {
            if (!seen.Add(route.Id))
            {
                invalid(route, new RouterConfigurationException($"{route.Describe()}: the id appears more than once."));
                continue;
            }
            // Gantry proxies no streams: a tcp, tls, udp or tls_passthrough route is valid but matches no HTTP request.
            if (ExpressionParser.IsStream(route.Protocols))
                continue;
            if (previous is null || !previous._compiled.TryGetValue(route, out var compiled))
            {
                output.Clear();
                try
                {
                    if (route.Expression is { } expression)
                    {
                        compiled = new Compiled([], null, ExpressionParser.Parse(expression));
                    }
                    else
                    {
                        RouteCompiler.Compile(route, output);
                        compiled = new Compiled(output.ToArray(), null);
                    }
                }
                catch (RouterConfigurationException error)
                {
                    compiled = new Compiled([], error);
                }
                catch (ExpressionException error)
                {
                    compiled = new Compiled([], new RouterConfigurationException($"{route.Describe()}: expression: {error.Message}", error));
                }
            }
            compiledNow[route] = compiled;
            if (compiled.Error is not null)
                invalid(route, compiled.Error);
            else if (compiled.Expression is not null)
                expressionRoutes.Add((route, compiled.Expression));
            else
                subRoutes.AddRange(compiled.SubRoutes);
        }
        expressionRoutes.Sort(static (a, b) =>
        {
            var byPriority = b.Item1.Priority.CompareTo(a.Item1.Priority);
            return byPriority != 0 ? byPriority : b.Item1.Id.CompareTo(a.Item1.Id);
        });

        // Highest key first; ties go to the larger id. Guid.CompareTo orders like the canonical
        // lowercase string, which is how Kong compares UUIDs.
        subRoutes.Sort(static (a, b) =>
        {
            var byKey = b.Priority.CompareTo(a.Priority);
            return byKey != 0 ? byKey : b.Route.Id.CompareTo(a.Route.Id);
        });

        var exact = new Dictionary<string, PrefixTrie.Builder>(StringComparer.OrdinalIgnoreCase);
        var anyHost = new PrefixTrie.Builder();
        for (var rank = 0; rank < subRoutes.Count; rank++)
        {
            var subRoute = subRoutes[rank];
            var inAnyHost = subRoute.Hosts is null;
            if (subRoute.Hosts is not null)
            {
                foreach (var host in subRoute.Hosts)
                {
                    if (host.PatternKind != HostPattern.Kind.Exact)
                    {
                        inAnyHost = true;
                        continue;
                    }
                    if (!exact.TryGetValue(host.Text, out var bucket))
                        exact.Add(host.Text, bucket = new PrefixTrie.Builder());
                    AddPaths(bucket, subRoute, rank);
                }
            }
            if (inAnyHost)
                AddPaths(anyHost, subRoute, rank);
        }

        var frozen = new Dictionary<string, PrefixTrie>(exact.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (host, builder) in exact)
            frozen.Add(host, builder.Build());
        return new Router(subRoutes.ToArray(), frozen.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase), anyHost.Build(), compiledNow,
            expressionRoutes.ToArray())
        {
            RouteCount = routes.Count,
        };
    }

    private static void AddPaths(PrefixTrie.Builder trie, SubRoute subRoute, int rank)
    {
        if (subRoute.Prefixes is not null)
        {
            foreach (var prefix in subRoute.Prefixes)
                trie.Add(prefix, rank);
        }
        else if (subRoute.Regexes is not null)
        {
            foreach (var regex in subRoute.Regexes)
                trie.Add(regex.LiteralPrefix, rank);
        }
        else
        {
            trie.Add("", rank);
        }
    }

    /// <summary>
    /// Finds the route for a request, or null.
    /// </summary>
    /// <param name="method">The request method, uppercase.</param>
    /// <param name="host">The Host header; a ":port" in it overrides <paramref name="port"/>.</param>
    /// <param name="port">The listener's port, used when the Host header has none.</param>
    /// <param name="path">The raw request path; a query is ignored and the path is normalised here.</param>
    /// <param name="headers">Request headers, read only for routes that declare headers.</param>
    /// <param name="sni">The TLS server name, or null.</param>
    /// <param name="isHttps">Whether the request came over TLS; snis are checked only then.</param>
    /// <param name="connection">What expression routes and routes with sources or destinations read (addresses, ports, the query); ignored when there are none.</param>
    public RouteMatch? Match<THeaders>(string method, string? host, int port, string path, THeaders headers, string? sni, bool isHttps,
        RequestConnection connection = default)
        where THeaders : IRequestHeaders
    {
        var hostName = HostPattern.SplitPort((host ?? "").AsSpan(), out var hostPort);
        if (hostPort >= 0)
            port = hostPort;
        var normalized = PathNormalizer.Normalize(path);
        if (_expressionRoutes.Length > 0
            && MatchExpression(method, hostName, normalized, headers, sni, isHttps, connection) is { } byExpression)
            return byExpression;
        var request = new RouteRequest(method, hostName, port, normalized, sni, isHttps, connection);

        var best = new Candidate { Rank = int.MaxValue };
        if (_exactHosts.Count > 0 && _exactHostLookup.TryGetValue(hostName, out var hostTrie))
            Search(hostTrie, in request, ref headers, ref best);
        Search(_anyHost, in request, ref headers, ref best);

        if (best.Rank == int.MaxValue)
            return null;
        var route = _subRoutes[best.Rank].Route;
        var upstream = UpstreamPath.Compute(route.ServicePath, route.StripPath, normalized, best.MatchedPrefix.Length);
        var stripped = route.StripPath ? best.MatchedPrefix : "";
        var captures = best.Regex is null ? null : Capture(best.Regex, best.RegexMatch!);
        return new RouteMatch(route, upstream, stripped, captures);
    }

    private void Search<THeaders>(PrefixTrie? node, in RouteRequest request, ref THeaders headers, ref Candidate best)
        where THeaders : IRequestHeaders
    {
        var path = request.Path;
        var depth = 0;
        while (node is not null)
        {
            foreach (var rank in node.Ranks)
            {
                // Ranks ascend, so nothing further in this list can beat what has matched.
                if (rank >= best.Rank)
                    break;
                if (_subRoutes[rank].TryMatch(in request, ref headers, out var prefix, out var regex, out var match))
                {
                    best = new Candidate { Rank = rank, MatchedPrefix = prefix, Regex = regex, RegexMatch = match };
                    break;
                }
            }
            if (depth == path.Length)
                break;
            node = node.Child(path[depth++]);
        }
    }

    private RouteMatch? MatchExpression<THeaders>(string method, ReadOnlySpan<char> host, string normalized, THeaders headers, string? sni, bool isHttps,
        RequestConnection connection)
        where THeaders : IRequestHeaders
    {
        var request = new ExpressionRequest<THeaders>(method, host.ToString().ToLowerInvariant(), normalized, isHttps ? "https" : "http", headers)
        {
            Query = connection.Query,
            Sni = sni,
            SourceIp = connection.SourceIp,
            SourcePort = connection.SourcePort,
            DestinationIp = connection.DestinationIp,
            DestinationPort = connection.DestinationPort,
        };
        var best = int.MaxValue;
        var bestPath = new ExpressionEvaluator.PathMatch();
        var node = _expressionPaths;
        var depth = 0;
        while (node is not null)
        {
            foreach (var rank in node.Ranks)
            {
                // Ranks ascend, so nothing further in this list can beat what has matched.
                if (rank >= best)
                    break;
                var matched = new ExpressionEvaluator.PathMatch();
                if (ExpressionEvaluator.Evaluate(_expressionRoutes[rank].Expression, request, ref matched))
                {
                    best = rank;
                    bestPath = matched;
                    break;
                }
            }
            if (depth == normalized.Length)
                break;
            node = node.Child(normalized[depth++]);
        }
        if (best != int.MaxValue)
        {
            var route = _expressionRoutes[best].Route;
            var matched = bestPath;
            // strip_path removes what the path predicate matched, when it is where the path begins.
            var prefix = matched.Matched is { } text && normalized.StartsWith(text, StringComparison.Ordinal) ? text : "";
            var upstream = UpstreamPath.Compute(route.ServicePath, route.StripPath, normalized, prefix.Length);
            return new RouteMatch(route, upstream, route.StripPath ? prefix : "", matched.Regex is { } regex ? Capture(regex) : null);
        }
        return null;
    }

    private static RouteCaptures Capture(Match match)
    {
        var unnamed = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Group group in match.Groups)
        {
            if (int.TryParse(group.Name, out _))
                unnamed.Add(group.Success ? group.Value : "");
            else if (group.Success)
                named[group.Name] = group.Value;
        }
        return new RouteCaptures(unnamed, named);
    }

    private static RouteCaptures Capture(PathRegex regex, Match match)
    {
        var unnamed = new string[regex.PositionalGroups.Length];
        for (var i = 0; i < unnamed.Length; i++)
        {
            // A group that took no part is empty rather than absent, so positions stay stable.
            var group = match.Groups[regex.PositionalGroups[i]];
            unnamed[i] = group.Success ? group.Value : "";
        }
        var named = new Dictionary<string, string>(regex.Names.Length, StringComparer.Ordinal);
        foreach (var name in regex.Names)
        {
            var group = match.Groups[name];
            if (group.Success)
                named[name] = group.Value;
        }
        return new RouteCaptures(unnamed, named);
    }

    private struct Candidate
    {
        public int Rank;
        public string MatchedPrefix;
        public PathRegex? Regex;
        public Match? RegexMatch;
    }
}

/// <summary>The connection's facts that only expression routes read (net.src.*, net.dst.*, http.queries.*).</summary>
public readonly record struct RequestConnection(IPAddress? SourceIp, int SourcePort, IPAddress? DestinationIp, int DestinationPort, string? Query);
