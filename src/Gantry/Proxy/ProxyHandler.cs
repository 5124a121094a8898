using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Gantry.Routing;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy;

/// <summary>
/// The proxy's request path: match a route in the request's snapshot, then forward to the route's
/// service with YARP's forwarder (connection pooling, streaming, upgrades), setting Kong's upstream URI,
/// Host and X-Forwarded-* headers. Kong's bodies answer what cannot be forwarded.
/// </summary>
public sealed class ProxyHandler(SnapshotHolder snapshots, IHttpForwarder forwarder)
{
    private static readonly string Via = $"1.1 gantry/{GantryInfo.Version}";
    private readonly ConcurrentDictionary<int, HttpMessageInvoker> _clients = new();

    public async Task HandleAsync(HttpContext http)
    {
        var snapshot = snapshots.Current;
        var request = http.Request;
        var match = snapshot.Router.Match(request.Method, request.Host.Value, http.Connection.LocalPort, request.Path.Value ?? "/",
            new KestrelHeaders(request.Headers), http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.HostName,
            request.IsHttps);
        if (match is not { } found)
        {
            await KongError(http, 404, "no Route matched with those values");
            return;
        }
        if (found.Route.ServiceId is not { } serviceId || !snapshot.Services.TryGetValue(serviceId, out var service))
        {
            await KongError(http, 503, "no Service found with those values");
            return;
        }
        var destination = service.Destination;
        var hostHeader = service.HostHeader;
        Gantry.Balancing.BalancerLease lease = default;
        if (snapshot.Upstreams.TryGetValue(service.Host, out var upstream))
        {
            lease = upstream.Balancer.Acquire(upstream.HashInput.Key(http, found));
            if (lease.Target is not { } target)
            {
                await KongError(http, 503, "failure to get a peer from the ring-balancer");
                return;
            }
            destination = target.Destination(service.Scheme);
            // Kong sends the upstream's host_header, else the target's own host (with its port when not the default).
            hostHeader = upstream.HostHeader ?? target.HostHeader(service.Scheme);
        }
        using var _ = lease;
        var transformer = new KongTransformer(found, hostHeader);
        var error = await forwarder.SendAsync(http, destination, Client(service.ConnectTimeoutMs), service.ForwarderConfig, transformer);
        ReportToBalancer(upstream, lease.Target, error, http);
        if (error != ForwarderError.None && !http.Response.HasStarted)
        {
            if (error is ForwarderError.RequestTimedOut)
                await KongError(http, 504, "The upstream server is timing out");
            else if (error is not (ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled))
                await KongError(http, 502, "An invalid response was received from the upstream server");
        }
    }

    /// <summary>The upstream's passive health checks learn from how the target answered.</summary>
    private static void ReportToBalancer(UpstreamBalancer? upstream, Gantry.Balancing.BalancerTarget? target, ForwarderError error, HttpContext http)
    {
        if (upstream is not null && target is not null)
            upstream.ReportOutcome(target, error, http.Response.StatusCode);
    }

    /// <summary>One pooled client per connect timeout: SocketsHttpHandler takes the timeout per handler, not per request.</summary>
    private HttpMessageInvoker Client(int connectTimeoutMs) => _clients.GetOrAdd(connectTimeoutMs, timeout => new HttpMessageInvoker(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromMilliseconds(timeout),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        ActivityHeadersPropagator = null,
    }));

    private static Task KongError(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.Headers.Server = $"gantry/{GantryInfo.Version}";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { message }));
    }

    /// <summary>Kong's upstream request: the route's upstream path, the service's Host unless preserve_host, X-Forwarded-*.</summary>
    private sealed class KongTransformer(RouteMatch match, string hostHeader) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext http, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(http, proxyRequest, destinationPrefix, cancellationToken);
            var request = http.Request;
            proxyRequest.RequestUri = new Uri(destinationPrefix + match.UpstreamPath + request.QueryString.Value, UriKind.Absolute);
            proxyRequest.Headers.Host = match.Route.PreserveHost ? request.Host.Value : hostHeader;
            var client = http.Connection.RemoteIpAddress?.ToString() ?? "";
            var forwardedFor = request.Headers["X-Forwarded-For"];
            proxyRequest.Headers.Remove("X-Forwarded-For");
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", StringValues.IsNullOrEmpty(forwardedFor) ? client : $"{forwardedFor}, {client}");
            Set(proxyRequest, "X-Forwarded-Proto", request.Scheme);
            Set(proxyRequest, "X-Forwarded-Host", request.Host.Host);
            Set(proxyRequest, "X-Forwarded-Port", (request.Host.Port ?? http.Connection.LocalPort).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Set(proxyRequest, "X-Forwarded-Path", request.Path.Value ?? "/");
            if (match.StrippedPrefix is { Length: > 1 } prefix)
                Set(proxyRequest, "X-Forwarded-Prefix", prefix);
            Set(proxyRequest, "X-Real-IP", client);
            proxyRequest.Headers.TryAddWithoutValidation("Via", Via);
        }

        private static void Set(HttpRequestMessage request, string name, string value)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext http, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var result = base.TransformResponseAsync(http, proxyResponse, cancellationToken);
            http.Response.Headers.Append("Via", Via);
            return result;
        }
    }

    /// <summary>Kestrel's request headers as the router reads them, without boxing.</summary>
    private readonly struct KestrelHeaders(IHeaderDictionary headers) : IRequestHeaders
    {
        public StringValues Get(string name) => headers[name];
    }
}
