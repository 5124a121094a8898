using System.Collections.Concurrent;
using System.Net;
using Gantry.Plugins.Pipeline;
using Gantry.Routing;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy;

/// <summary>
/// The proxy's request path: match a route in the request's snapshot, then forward to the route's
/// service with Gantry's HTTP/1.1 forwarder or YARP's (connection pooling, streaming, upgrades), setting Kong's upstream URI,
/// Host and X-Forwarded-* headers. Kong's bodies answer what cannot be forwarded.
/// </summary>
public sealed class ProxyHandler(SnapshotHolder snapshots, IHttpForwarder forwarder, ProxyHeaders headers, ILogger logger, Http1.Http1Forwarder? http1 = null)
{
    private static readonly string Via = $"1.1 gantry/{GantryInfo.Version}";
    private readonly ConcurrentDictionary<int, HttpMessageInvoker> _clients = new();
    private readonly RetryingForwarder _forwarder = new(forwarder, logger, http1);

    public async Task HandleAsync(HttpContext http)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Kong's nginx_http_client_max_body_size is 0 by default: a client may send a body of any size through the
        // proxy (Kestrel would refuse one over 30 MB); request-size-limiting is the plugin that limits it.
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
            bodyLimit.MaxRequestBodySize = null;
        var requestId = headers.NewRequestId();
        var snapshot = snapshots.Current;
        var request = http.Request;
        // RFC 9112 section 6.1: HTTP/1.0 has no chunked framing, so such a request's length cannot be trusted; nginx refuses it too.
        if (HttpProtocol.IsHttp10(request.Protocol) && request.Headers.ContainsKey(HeaderNames.TransferEncoding))
        {
            await KongError(http, 400, "Bad request", started, requestId);
            return;
        }
        // nginx answers TRACE 405 before any routing (a TRACE echoes the request, cookies and credentials included,
        // to whoever can script the client: cross-site tracing), and Kong's error page words it so.
        if (HttpMethods.IsTrace(request.Method))
        {
            await KongError(http, 405, "Method not allowed", started, requestId);
            return;
        }
        // Routes match the raw path normalised (unreserved escapes decoded, dot segments resolved); every
        // other escape, an encoded CR or LF among them, stays encoded all the way upstream.
        var rawPath = RawRequestPath.Of(http);
        var connection = snapshot.Router.HasExpressionRoutes
            ? new RequestConnection(http.Connection.RemoteIpAddress, http.Connection.RemotePort, http.Connection.LocalIpAddress, http.Connection.LocalPort,
                request.QueryString.Value)
            : default;
        var match = snapshot.Router.Match(request.Method, request.Host.Value, http.Connection.LocalPort, rawPath,
            new KestrelHeaders(request.Headers), http.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.HostName,
            request.IsHttps, connection);
        if (match is not { } found)
        {
            await KongError(http, 404, "no Route matched with those values", started, requestId);
            return;
        }
        if (found.Route.RequiresTls && !request.IsHttps)
        {
            await RedirectToHttps(http, found.Route.HttpsRedirectStatusCode, started, requestId);
            return;
        }
        // Only routes with plugins pay for the pipeline.
        PluginRequest? plugins = null;
        if (snapshot.Plugins.For(found.Route.Id) is { } chain)
        {
            plugins = new PluginRequest(http, found, found.Route.ServiceId, chain) { Started = started };
            await plugins.AccessAsync();
            if (plugins.ExitStatus != 0)
            {
                headers.OnGeneratedResponse(http.Response, started, requestId);
                await plugins.SendExitAsync(requestId);
                plugins.Log();
                return;
            }
        }
        await ForwardAsync(http, snapshot, found, rawPath, plugins, started, requestId);
        plugins?.Log();
    }

    private async Task ForwardAsync(HttpContext http, ConfigSnapshot snapshot, RouteMatch found, string rawPath, PluginRequest? plugins, long started, string? requestId)
    {
        if (found.Route.ServiceId is not { } serviceId || !snapshot.Services.TryGetValue(serviceId, out var service))
        {
            await KongError(http, 503, "no Service found with those values", started, requestId, plugins);
            return;
        }
        var upstream = snapshot.Upstreams.GetValueOrDefault(service.Host);
        var transformer = new KongTransformer(found, rawPath, headers, started, requestId, plugins);
        var (outcome, error) = await _forwarder.SendAsync(http, service, upstream, upstream?.HashInput.Key(http, found),
            transformer, Client(service.ConnectTimeoutMs));
        if (plugins is not null)
            await plugins.EndResponseAsync(outcome is ForwardOutcome.Forwarded && error == ForwarderError.None);
        if (outcome is ForwardOutcome.NoPeer)
            await KongError(http, 503, "failure to get a peer from the ring-balancer", started, requestId, plugins);
        else if (outcome is ForwardOutcome.Refused)
        {
            logger.LogWarning("request {RequestId} not forwarded: the value of its {Header} header bound upstream has a CR, LF or NUL",
                requestId ?? http.TraceIdentifier, transformer.UnsafeHeader);
            await KongError(http, 400, "Bad request", started, requestId, plugins);
        }
        else if (error != ForwarderError.None && !http.Response.HasStarted)
        {
            // The client's body broke off or was malformed (a bad chunk): the client's fault, as nginx answers it.
            if (error is ForwarderError.RequestBodyClient && RefusedBody(http) is { } refused)
                await KongError(http, refused.Status, refused.Message, started, requestId, plugins);
            else if (error is ForwarderError.RequestBodyClient)
                await KongError(http, 400, "Bad request", started, requestId, plugins);
            // A timeout in any phase (a write that stalled mid-body among them) is nginx's 504; the forwarder's status says so.
            else if (error is ForwarderError.RequestTimedOut || http.Response.StatusCode == StatusCodes.Status504GatewayTimeout)
                await KongError(http, 504, "The upstream server is timing out", started, requestId, plugins);
            else if (error is not (ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled))
                await KongError(http, 502, "An invalid response was received from the upstream server", started, requestId, plugins);
        }
    }

    /// <summary>The refusal a plugin's body wrapper (a size limit) raised while the body streamed upstream, if that broke it off.</summary>
    private static RequestBodyRefusedException? RefusedBody(HttpContext http)
    {
        for (var cause = http.Features.Get<IForwarderErrorFeature>()?.Exception; cause is not null; cause = cause.InnerException)
        {
            if (cause is RequestBodyRefusedException refused)
                return refused;
        }
        return null;
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

    /// <summary>A plain request on an HTTPS-only route: 426 asking for TLS, or a redirect to the same URL over https.</summary>
    private Task RedirectToHttps(HttpContext http, int status, long started, string? requestId)
    {
        if (status == 426)
        {
            http.Response.Headers.Connection = "Upgrade";
            http.Response.Headers.Upgrade = "TLS/1.2, HTTP/1.1";
            return KongError(http, 426, "Please use HTTPS protocol", started, requestId);
        }
        var request = http.Request;
        http.Response.StatusCode = status;
        headers.OnGeneratedResponse(http.Response, started, requestId);
        http.Response.Headers.Location = $"https://{request.Host.Host}{request.PathBase.ToUriComponent()}{request.Path.ToUriComponent()}{request.QueryString}";
        return Task.CompletedTask;
    }

    private Task KongError(HttpContext http, int status, string message, long started, string? requestId, PluginRequest? plugins = null)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        headers.OnGeneratedResponse(http.Response, started, requestId);
        plugins?.HeaderFilter();
        return http.Response.Body.WriteAsync(PluginRequest.ErrorBody(message, requestId)).AsTask();
    }

    /// <summary>
    /// Kong's upstream request: the route's upstream path, the service's Host unless preserve_host,
    /// X-Forwarded-*. X-Forwarded-Path is the path as the client sent it (Kong's <c>$request_uri</c> up to
    /// the query); X-Forwarded-Prefix is what strip_path took off the normalised path.
    /// </summary>
    private sealed class KongTransformer(RouteMatch match, string rawPath, ProxyHeaders headers, long started, string? requestId, PluginRequest? plugins)
        : UpstreamTransformer(headers, started, requestId)
    {
        public override void ResponseHeadersCopied(HttpContext http, int upstreamStatus)
        {
            base.ResponseHeadersCopied(http, upstreamStatus);
            if (plugins is not null)
            {
                plugins.Proxied(Sent, System.Diagnostics.Stopwatch.GetTimestamp());
                plugins.HeaderFilter();
            }
        }

        protected override void DescribeUpstreamRequest(HttpContext http, UpstreamRequestEdits edits)
        {
            var request = http.Request;
            edits.PathAndQuery = (plugins?.UpstreamPath ?? match.UpstreamPath) + request.QueryString.Value;
            edits.Host = plugins?.UpstreamHost ?? (match.Route.PreserveHost ? request.Host.Value : HostHeader);
            var client = http.Connection.RemoteIpAddress?.ToString() ?? "";
            var forwardedFor = request.Headers["X-Forwarded-For"];
            edits.Set("X-Forwarded-For", StringValues.IsNullOrEmpty(forwardedFor) ? client : $"{forwardedFor}, {client}");
            edits.Set("X-Forwarded-Proto", request.Scheme);
            edits.Set("X-Forwarded-Host", request.Host.Host);
            edits.Set("X-Forwarded-Port", (request.Host.Port ?? http.Connection.LocalPort).ToString(System.Globalization.CultureInfo.InvariantCulture));
            edits.Set("X-Forwarded-Path", rawPath);
            if (match.StrippedPrefix is { Length: > 1 } prefix)
                edits.Set("X-Forwarded-Prefix", prefix);
            edits.Set("X-Real-IP", client);
            edits.Append("Via", Via);
        }
    }

    /// <summary>Kestrel's request headers as the router reads them, without boxing.</summary>
    private readonly struct KestrelHeaders(IHeaderDictionary headers) : IRequestHeaders
    {
        public StringValues Get(string name) => headers[name];
    }
}
