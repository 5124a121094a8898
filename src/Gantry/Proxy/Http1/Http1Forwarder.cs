using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy.Http1;

/// <summary>
/// Gantry's own forwarder for plain HTTP/1.1 upstreams: a pool of keep-alive connections per destination,
/// raw sockets and pipelines, request and response streamed both ways, and one shared timer
/// (<see cref="DeadlineTicker"/>) for every timeout. It takes the place of YARP's forwarder and
/// HttpClient's connection stack where those cost the most CPU per request, and keeps their contract:
/// the same upstream request (<see cref="UpstreamTransformer.PrepareUpstream"/> describes it once for both
/// forwarders; no request or response message is built here), the same response hook
/// (<see cref="UpstreamTransformer.ResponseHeadersCopied"/>), the same <see cref="ForwarderError"/> values,
/// statuses and exception types on failure (so the retries, passive health checks and error answers above
/// it do not know which forwarder ran). Upgrades, HTTP/2, gRPC and TLS upstreams stay on YARP's forwarder.
/// </summary>
public sealed class Http1Forwarder : IDisposable
{
    private static readonly StringValues Chunked = "chunked";
    private readonly ConcurrentDictionary<string, Http1ConnectionPool> _pools = new(StringComparer.Ordinal);
    private readonly DeadlineTicker _ticker = new();
    private readonly UpstreamKeepalive _keepalive;
    private readonly bool _epoll;

    /// <param name="epoll">Whether upstream connections are served by the epoll loops (proxy_io = epoll).</param>
    public Http1Forwarder(UpstreamKeepalive keepalive, bool epoll = false)
    {
        _keepalive = keepalive;
        _epoll = epoll;
    }

    /// <summary>
    /// Whether a request can go this way: HTTP/1.x from the client, and nothing that asks to switch
    /// protocols (an upgrade such as WebSocket), which YARP's forwarder tunnels.
    /// </summary>
    public static bool Handles(HttpRequest request) =>
        (HttpProtocol.IsHttp11(request.Protocol) || HttpProtocol.IsHttp10(request.Protocol))
        && StringValues.IsNullOrEmpty(request.Headers.Upgrade) && !HttpMethods.IsConnect(request.Method);

    public async ValueTask<ForwarderError> SendAsync(HttpContext http, string destinationPrefix, UpstreamTimeouts timeouts, UpstreamTransformer transformer)
    {
        if (http.Response.StatusCode != StatusCodes.Status200OK || http.Response.HasStarted)
            throw new InvalidOperationException("The request cannot be forwarded, the response has already started");
        var request = http.Request;
        var hasBody = RequestHasBody(request);
        UpstreamRequestEdits? edits;
        try
        {
            edits = transformer.PrepareUpstream(http);
        }
        catch (Exception e)
        {
            return await FailAsync(http, transformer, ForwarderError.RequestCreation, StatusCodes.Status502BadGateway, e);
        }
        // Refused (a header that could split the request): the transformer has set the status, nothing is sent.
        if (edits is null)
            return ForwarderError.None;
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var pool = _pools.GetOrAdd(destinationPrefix, static (prefix, self) =>
        {
            var uri = new Uri(prefix);
            return new Http1ConnectionPool(uri.Host, uri.Port, self._keepalive, self._ticker, self._epoll);
        }, this);
        Http1Connection connection;
        try
        {
            connection = await pool.RentAsync(timeouts.ConnectMs);
        }
        catch (Exception e)
        {
            if (http.RequestAborted.IsCancellationRequested)
                return await FailAsync(http, transformer, ForwarderError.RequestCanceled, StatusCodes.Status400BadRequest, e);
            return e is OperationCanceledException
                ? await FailAsync(http, transformer, ForwarderError.RequestTimedOut, StatusCodes.Status504GatewayTimeout, e)
                : await FailAsync(http, transformer, ForwarderError.Request, StatusCodes.Status502BadGateway, e);
        }
        var exchange = new Exchange(http, connection, timeouts, new RequestHead(http.Request, edits, destinationPrefix, hasBody));
        var reusable = false;
        try
        {
            (var error, reusable) = await exchange.RunAsync(transformer, hasBody);
            return error;
        }
        finally
        {
            if (reusable)
                pool.Return(connection);
            else
                connection.Dispose();
        }
    }

    /// <summary>
    /// Whether the request has a body to stream upstream, decided as YARP's forwarder decides it, so that
    /// a body-less request never goes upstream chunked.
    /// </summary>
    private static bool RequestHasBody(HttpRequest request)
    {
        if (request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { } detection)
            return detection.CanHaveBody;
        return request.ContentLength > 0 || request.Headers.TransferEncoding == Chunked;
    }

    /// <summary>Records a failure before any response went to the client, as YARP's forwarder does.</summary>
    internal static async ValueTask<ForwarderError> FailAsync(HttpContext http, HttpTransformer transformer, ForwarderError error, int status, Exception exception)
    {
        http.Features.Set<IForwarderErrorFeature>(new ForwarderErrorFeature(error, exception));
        if (!http.Response.HasStarted)
        {
            http.Response.Clear();
            http.Response.StatusCode = status;
        }
        try
        {
            await transformer.TransformResponseAsync(http, null, CancellationToken.None);
        }
        catch (OperationCanceledException)
        {
            // The error above is the one to report.
        }
        return error;
    }

    public void Dispose()
    {
        _ticker.Dispose();
        foreach (var pool in _pools.Values)
            pool.Clear();
    }
}
