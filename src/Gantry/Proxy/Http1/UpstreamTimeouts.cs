namespace Gantry.Proxy.Http1;

/// <summary>A service's connect_timeout, write_timeout and read_timeout, in milliseconds, as the HTTP/1.1 forwarder applies them.</summary>
public sealed record UpstreamTimeouts(int ConnectMs, int WriteMs, int ReadMs);

/// <summary>The node's upstream_keepalive_* properties.</summary>
/// <param name="PoolSize">Idle connections kept per destination; 0 closes every connection after its request.</param>
/// <param name="MaxRequests">Requests one connection carries before it is closed; 0 means no limit.</param>
/// <param name="IdleTimeout">How long an idle connection is kept; <see cref="TimeSpan.Zero"/> means no limit.</param>
public sealed record UpstreamKeepalive(int PoolSize, int MaxRequests, TimeSpan IdleTimeout)
{
    public static UpstreamKeepalive Default { get; } = new(512, 10000, TimeSpan.FromSeconds(60));
}
