using System.Collections.Frozen;
using Gantry.Balancing;
using Gantry.Routing;

namespace Gantry.Proxy;

/// <summary>Where a service sends requests, and how long it waits; read by every proxied request.</summary>
public sealed record ServiceTarget(Guid Id, string Protocol, string Host, int Port, int ConnectTimeoutMs, int ReadTimeoutMs, int WriteTimeoutMs, int Retries)
{
    /// <summary>The scheme spoken to the upstream.</summary>
    public string Scheme { get; } = SchemeOf(Protocol);

    /// <summary>scheme://host:port, the prefix the upstream path is appended to.</summary>
    public string Destination { get; } = UpstreamAddress.Destination(SchemeOf(Protocol), Host, Port);

    /// <summary>The forwarder's settings, built once per snapshot rather than per request.</summary>
    public Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig ForwarderConfig { get; } =
        new() { ActivityTimeout = TimeSpan.FromMilliseconds(Math.Max(ReadTimeoutMs, WriteTimeoutMs)) };

    /// <summary>The connect, write and read timeouts as the HTTP/1.1 forwarder applies them.</summary>
    public Http1.UpstreamTimeouts Timeouts { get; } = new(ConnectTimeoutMs, WriteTimeoutMs, ReadTimeoutMs);

    /// <summary>
    /// Whether the service speaks plain HTTP/1.1 (protocol http), which Gantry's own forwarder serves when
    /// proxy_forwarder is auto; https, grpc, grpcs, ws and wss stay on YARP's.
    /// </summary>
    public bool PlainHttp { get; } = Protocol == "http";

    /// <summary>The Host header sent upstream when the route does not preserve the client's.</summary>
    public string HostHeader { get; } = UpstreamAddress.HostHeader(SchemeOf(Protocol), Host, Port);

    private static string SchemeOf(string protocol) => protocol is "https" or "grpcs" or "wss" ? "https" : "http";
}

/// <summary>
/// Everything the proxy needs to serve a request, compiled off the request path into one immutable
/// object and swapped atomically; a request keeps the snapshot it started with.
/// </summary>
public sealed class ConfigSnapshot(Router router, FrozenDictionary<Guid, ServiceTarget> services, FrozenDictionary<string, UpstreamBalancer> upstreams, long version,
    Node.SniCertificates? certificates = null)
{
    public static ConfigSnapshot Empty { get; } = new(Router.Build([]), FrozenDictionary<Guid, ServiceTarget>.Empty, FrozenDictionary<string, UpstreamBalancer>.Empty, 0);

    /// <summary>Upstreams by name: a service whose host is one of them is balanced over its targets.</summary>
    public FrozenDictionary<string, UpstreamBalancer> Upstreams { get; } = upstreams;

    public Router Router { get; } = router;

    public FrozenDictionary<Guid, ServiceTarget> Services { get; } = services;

    /// <summary>The routes the router was built from.</summary>
    public IReadOnlyList<RouteDefinition> Routes { get; init; } = [];

    /// <summary>Each route's plugin chain, resolved by Kong's scope precedence.</summary>
    public Gantry.Plugins.Pipeline.PluginChains Plugins { get; init; } = Gantry.Plugins.Pipeline.PluginChains.Empty;

    /// <summary>The proxy's TLS certificates by SNI, read by every handshake on a proxy_listen ssl listener.</summary>
    public Node.SniCertificates Certificates { get; } = certificates ?? Node.SniCertificates.Empty;

    /// <summary>The stored entities this snapshot had to leave out, by the part they feed.</summary>
    public SnapshotProblems Invalid { get; init; } = SnapshotProblems.None;

    /// <summary>Increases with every rebuild.</summary>
    public long Version { get; } = version;

    /// <summary>What the router was built from, for the next build to start from; null for the empty snapshot.</summary>
    internal RoutingPart? Routing { get; init; }

    /// <summary>What the plugin chains were built from, for the next build to start from; null for the empty snapshot.</summary>
    internal ChainPart? Chains { get; init; }
}

/// <summary>A stored entity left out of the configuration because it cannot be used, and why.</summary>
public sealed record InvalidEntity(string Entity, string Id, string Reason);

/// <summary>The entities each part of a snapshot left out; a part that is not rebuilt keeps its list.</summary>
public sealed record SnapshotProblems(IReadOnlyList<InvalidEntity> Router, IReadOnlyList<InvalidEntity> Balancers,
    IReadOnlyList<InvalidEntity> Plugins, IReadOnlyList<InvalidEntity> Certificates)
{
    public static SnapshotProblems None { get; } = new([], [], [], []);

    public IEnumerable<InvalidEntity> All => Router.Concat(Balancers).Concat(Plugins).Concat(Certificates);
}
