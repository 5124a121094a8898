using System.Diagnostics;
using System.Net.Http;
using Gantry.Balancing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace Gantry.Proxy;

/// <summary>What became of a forward: the forwarder's error, or no target to send to.</summary>
public enum ForwardOutcome
{
    Forwarded,
    /// <summary>The upstream had no healthy target: Kong's 503.</summary>
    NoPeer,
    /// <summary>A header bound upstream had a CR, LF or NUL (<see cref="UpstreamTransformer.UnsafeHeader"/>): nothing was sent.</summary>
    Refused,
}

/// <summary>
/// Sends a request upstream with YARP's forwarder or, for a plain HTTP/1.1 service, Gantry's own
/// (<see cref="Http1.Http1Forwarder"/>), and tries again, up to the service's <c>retries</c>,
/// when the try failed while connecting (refused, unreachable, name not resolved, TLS handshake, connect
/// timeout), as Kong retries on nginx's <c>error timeout</c>. Each try on an upstream takes the
/// balancer's next pick, so a dead target is passed over. Nothing is retried once the upstream may have
/// seen the request: a failure after connecting, a read timeout, or a response already started. The one
/// exception is an idempotent request without a body whose connection the upstream dropped before
/// answering (a pooled keep-alive connection closed under it): it is sent once more on another connection,
/// without counting as a try.
/// </summary>
/// <remarks>
/// Requests with a body are retried on the same terms without buffering it: the forwarder hands the body
/// to the connection only after it is established, so a connect-phase failure leaves it unread, and the
/// next try streams it from the start.
/// </remarks>
public sealed class RetryingForwarder(IHttpForwarder forwarder, ILogger logger, Http1.Http1Forwarder? http1 = null)
{
    public async ValueTask<(ForwardOutcome Outcome, ForwarderError Error)> SendAsync(HttpContext http, ServiceTarget service, UpstreamBalancer? upstream,
        string? hashKey, UpstreamTransformer transformer, HttpMessageInvoker client)
    {
        var resentOnDrop = false;
        for (var attempt = 0; ; attempt++)
        {
            var destination = service.Destination;
            transformer.HostHeader = service.HostHeader;
            BalancerLease lease = default;
            if (upstream is not null)
            {
                // A retry under consistent hashing would land on the same target again; it goes round the continuum instead.
                lease = upstream.Balancer.Acquire(attempt == 0 ? hashKey : null);
                if (lease.Target is not { } target)
                    return (ForwardOutcome.NoPeer, ForwarderError.None);
                destination = target.Destination(service.Scheme);
                // Kong sends the upstream's host_header, else the target's own host (with its port when not the default).
                transformer.HostHeader = upstream.HostHeader ?? target.HostHeader(service.Scheme);
            }
            ForwarderError error;
            using (lease)
            {
                // The forwarder was chosen with the snapshot (the service's protocol); only a request that asks to switch protocols goes to YARP's regardless.
                error = http1 is not null && service.PlainHttp && Http1.Http1Forwarder.Handles(http.Request)
                    ? await http1.SendAsync(http, destination, service.Timeouts, transformer)
                    : await forwarder.SendAsync(http, destination, client, service.ForwarderConfig, transformer);
            }
            // The forwarder sends nothing once the transformer has set a status; the target learnt nothing either.
            if (transformer.UnsafeHeader is not null)
                return (ForwardOutcome.Refused, ForwarderError.None);
            // Every try teaches the upstream's passive health checks about its target.
            if (lease.Target is { } tried)
                upstream!.ReportOutcome(tried, error, http.Response.StatusCode);
            if (error == ForwarderError.None || http.Response.HasStarted)
                return (ForwardOutcome.Forwarded, error);
            string? reason;
            if (!resentOnDrop && DroppedBeforeAnswer(http, error, out reason))
            {
                // Not counted as a try, as nginx does not count a failure on a cached keep-alive connection.
                resentOnDrop = true;
                attempt--;
                logger.LogInformation("{Destination} dropped the connection before answering ({Reason}); sending the request again on another connection", destination, reason);
            }
            else if (attempt >= service.Retries || !FailedToConnect(http, error, out reason))
            {
                return (ForwardOutcome.Forwarded, error);
            }
            else
            {
                logger.LogWarning("try {Try} of {Tries} to {Destination} failed ({Reason}); retrying", attempt + 1, service.Retries + 1, destination, reason);
            }
            // The failed try left a 502 or 504 status and its error on the context; the next try starts clean.
            http.Response.Clear();
            http.Features.Set<IForwarderErrorFeature>(null);
        }
    }

    /// <summary>
    /// Whether the upstream closed or reset the connection before any byte of an answer, for a request
    /// that is safe to send again: an idempotent method without a body (nothing was consumed that could not
    /// be sent again). This is what a pooled keep-alive connection looks like when the upstream dropped it
    /// just as it was reused (an nginx reload, an idle timeout racing the request).
    /// </summary>
    private static bool DroppedBeforeAnswer(HttpContext http, ForwarderError error, out string reason)
    {
        reason = "";
        if (error != ForwarderError.Request || http.RequestAborted.IsCancellationRequested
            || http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false || !IsIdempotent(http.Request.Method))
            return false;
        for (var e = http.Features.Get<IForwarderErrorFeature>()?.Exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded }
                || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted or System.Net.Sockets.SocketError.Shutdown })
            {
                reason = e.Message;
                return true;
            }
        }
        return false;
    }

    /// <summary>RFC 9110's idempotent methods; nginx likewise never sends a POST, LOCK or PATCH twice.</summary>
    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    /// <summary>Whether the try failed before a connection to the upstream was made, so the upstream saw nothing.</summary>
    private static bool FailedToConnect(HttpContext http, ForwarderError error, out string reason)
    {
        reason = "";
        if (error is not (ForwarderError.Request or ForwarderError.RequestTimedOut) || http.RequestAborted.IsCancellationRequested)
            return false;
        for (var e = http.Features.Get<IForwarderErrorFeature>()?.Exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } connect)
            {
                reason = connect.InnerException?.Message ?? connect.Message;
                return true;
            }
            // SocketsHttpHandler reports its ConnectTimeout as a cancellation wrapping a TimeoutException;
            // the forwarder's own read timeout is a cancellation without one.
            if (e is OperationCanceledException { InnerException: TimeoutException timeout })
            {
                reason = timeout.Message;
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// The per-request transformer the retrying forwarder drives: told each try's Host header, it times the
/// request (for the latency headers), adds the headers of <see cref="ProxyHeaders"/> and those of the
/// subclass, fixes the framing headers, and refuses to send a request with a header value that could
/// split it.
/// </summary>
public abstract class UpstreamTransformer(ProxyHeaders headers, long started, string? requestId) : HttpTransformer
{
    private long _sent;

    /// <summary>When the first try was sent; 0 before.</summary>
    protected long Sent => _sent;

    /// <summary>The Host header for the target of the current try.</summary>
    public string HostHeader { get; set; } = "";

    /// <summary>Set when a header bound upstream had a CR, LF or NUL in its value: the request was not sent.</summary>
    public string? UnsafeHeader { get; private set; }

    public sealed override async ValueTask TransformRequestAsync(HttpContext http, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(http, proxyRequest, destinationPrefix, cancellationToken);
        Edits(http).ApplyTo(proxyRequest, destinationPrefix);
        Guard(http, UpstreamHeaderGuard.FindUnsafe(proxyRequest));
    }

    /// <summary>
    /// Gantry's HTTP/1.1 forwarder's counterpart of <see cref="TransformRequestAsync"/>: the same edits, applied
    /// as the client's headers are written upstream rather than to a message. Null when the request is refused
    /// (<see cref="UnsafeHeader"/>).
    /// </summary>
    public UpstreamRequestEdits? PrepareUpstream(HttpContext http)
    {
        var edits = Edits(http);
        Guard(http, edits.FindUnsafe());
        return UnsafeHeader is null ? edits : null;
    }

    private UpstreamRequestEdits Edits(HttpContext http)
    {
        // The first try's start: retries count as time spent on the upstream.
        if (_sent == 0)
            _sent = Stopwatch.GetTimestamp();
        var edits = new UpstreamRequestEdits { DropsClientLength = http.Request.Headers.ContainsKey(HeaderNames.TransferEncoding) };
        if (headers.RequestIdUpstream && requestId is not null)
            edits.Set("X-Kong-Request-Id", requestId);
        DescribeUpstreamRequest(http, edits);
        return edits;
    }

    /// <summary>Refuses the request when a header bound upstream (the client's as plugins left them, or Gantry's) could split it.</summary>
    private void Guard(HttpContext http, string? unsafeEdited)
    {
        if ((UpstreamHeaderGuard.FindUnsafe(http.Request.Headers) ?? unsafeEdited) is { } unsafeHeader)
        {
            UnsafeHeader = unsafeHeader;
            // A status set by the transformer tells the forwarder not to send the request.
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
    }

    /// <summary>The subclass's part of the upstream request: its path and query, its Host, the headers it owns.</summary>
    protected abstract void DescribeUpstreamRequest(HttpContext http, UpstreamRequestEdits edits);

    public sealed override async ValueTask<bool> TransformResponseAsync(HttpContext http, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copyBody = await base.TransformResponseAsync(http, proxyResponse, cancellationToken);
        // Null when the try failed: the answer is then Gantry's own, with its own headers.
        if (proxyResponse is not null)
            ResponseHeadersCopied(http, (int)proxyResponse.StatusCode);
        return copyBody;
    }

    /// <summary>
    /// Called once the upstream's response headers are on the client's response, copied by YARP's forwarder
    /// from its message or by Gantry's HTTP/1.1 forwarder straight from the wire: Gantry's own headers go on,
    /// then the subclass's.
    /// </summary>
    public virtual void ResponseHeadersCopied(HttpContext http, int upstreamStatus) =>
        headers.OnProxiedResponse(http.Response, upstreamStatus, started, _sent, Stopwatch.GetTimestamp(), requestId);
}
