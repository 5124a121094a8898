using System.Text.Json;
using Gantry.Routing;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.Pipeline;

/// <summary>
/// A request on its way through a route's plugin chain: what the plugins learned (the consumer), the
/// headers they want on the response, and the answer a plugin gave instead of forwarding. Created only
/// for routes that have plugins; a plugin changes the upstream request by editing <see cref="Http"/>'s
/// request directly, before the forwarder copies it.
/// </summary>
public sealed class PluginRequest(HttpContext http, RouteMatch match, Guid? serviceId, PluginChain chain)
{
    private readonly PluginHandler?[] _collected = new PluginHandler?[chain.Slots.Length];
    private List<(string Name, string Value, bool Append)>? _responseHeaders;
    private string? _exitMessage;
    private IReadOnlyDictionary<string, string>? _exitErrors;
    private (byte[] Body, string? ContentType)? _exitRaw;

    public HttpContext Http { get; } = http;

    public RouteMatch Match { get; } = match;

    public Guid RouteId => Match.Route.Id;

    public Guid? ServiceId { get; } = serviceId;

    /// <summary>The consumer an authentication plugin identified (or the anonymous one); null when none.</summary>
    public ConsumerInfo? Consumer { get; private set; }

    /// <summary>The credential that authenticated the consumer; null for anonymous access.</summary>
    public Guid? CredentialId { get; private set; }

    /// <summary>The path sent upstream instead of the route's (request-transformer's replace.uri); null keeps the route's.</summary>
    public string? UpstreamPath { get; set; }

    /// <summary>The Host sent upstream instead of the service's or the client's; null keeps the proxy's choice.</summary>
    public string? UpstreamHost { get; set; }

    /// <summary>When the proxy received the request (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long Started { get; init; }

    /// <summary>When the request was first sent to the upstream; 0 when it was not.</summary>
    public long UpstreamSent { get; private set; }

    /// <summary>When the upstream's response headers arrived; 0 when the answer is Gantry's own.</summary>
    public long UpstreamReceived { get; private set; }

    /// <summary>Records the upstream's timing once its response arrived.</summary>
    public void Proxied(long sent, long received)
    {
        UpstreamSent = sent;
        UpstreamReceived = received;
    }

    private CountingStream? _responseCounter;

    /// <summary>Counts the bytes written to the response body from now on (<see cref="ResponseBytes"/>).</summary>
    public void CountResponseBytes()
    {
        if (_responseCounter is null)
            Http.Response.Body = _responseCounter = new CountingStream(Http.Response.Body);
    }

    /// <summary>The bytes of the response body written since <see cref="CountResponseBytes"/>; null when nothing counts them.</summary>
    public long? ResponseBytes => _responseCounter?.Written;

    private List<Func<bool, ValueTask>>? _responseEnds;

    /// <summary>
    /// Runs <paramref name="end"/> once the upstream's response body has been copied (true) or broke off
    /// (false): a plugin that holds the body back in its header filter (response-transformer) sends it then.
    /// </summary>
    public void OnResponseEnd(Func<bool, ValueTask> end) => (_responseEnds ??= []).Add(end);

    /// <summary>An earlier header filter holds the upstream's body back to change it (see <see cref="OnResponseEnd"/>).</summary>
    public bool ResponseBodyHeld => _responseEnds is not null;

    /// <summary>Ends what the plugins held back of the upstream's response, the last one wrapped first.</summary>
    public async ValueTask EndResponseAsync(bool whole)
    {
        if (_responseEnds is null)
            return;
        for (var i = _responseEnds.Count - 1; i >= 0; i--)
            await _responseEnds[i](whole);
    }

    /// <summary>The status of the answer a plugin gave instead of forwarding; 0 while the request is forwarded.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>Runs the access phase in priority order, resolving each plugin's instance for the consumer known so far.</summary>
    public async ValueTask AccessAsync()
    {
        var slots = chain.Slots;
        var https = Http.Request.IsHttps;
        for (var i = 0; i < slots.Length && ExitStatus == 0; i++)
        {
            var instance = slots[i].Resolve(Consumer?.Id);
            if (instance is null || !(https ? instance.Https : instance.Http))
                continue;
            _collected[i] = instance.Handler;
            await instance.Handler.AccessAsync(this);
        }
    }

    /// <summary>Sets the consumer (and credential) for the upstream's X-Consumer-* headers and later plugins.</summary>
    public void Authenticate(ConsumerInfo consumer, Guid? credentialId, string? credentialIdentifier = null)
    {
        Consumer = consumer;
        CredentialId = credentialId;
        // For consistent hashing on the consumer (hash_on = consumer), read by the balancer.
        Gantry.Proxy.ProxyRequestContext.SetConsumer(Http, consumer.Id);
        var headers = Http.Request.Headers;
        headers["X-Consumer-ID"] = consumer.Id.ToString();
        SetOrRemove(headers, "X-Consumer-Custom-ID", consumer.CustomId);
        SetOrRemove(headers, "X-Consumer-Username", consumer.Username);
        SetOrRemove(headers, "X-Credential-Identifier", credentialId is null ? null : credentialIdentifier ?? credentialId.ToString());
        if (credentialId is null)
            headers["X-Anonymous-Consumer"] = "true";
        else
            headers.Remove("X-Anonymous-Consumer");
    }

    private static void SetOrRemove(IHeaderDictionary headers, string name, string? value)
    {
        if (value is null)
            headers.Remove(name);
        else
            headers[name] = value;
    }

    /// <summary>Sets a header on the response to the client, replacing the upstream's.</summary>
    public void SetResponseHeader(string name, string value) => (_responseHeaders ??= []).Add((name, value, false));

    /// <summary>Adds a value to a response header (Vary, for instance) without replacing the upstream's.</summary>
    public void AppendResponseHeader(string name, string value) => (_responseHeaders ??= []).Add((name, value, true));

    /// <summary>Answers the request instead of forwarding it; the remaining access handlers do not run.</summary>
    public void Exit(int status, string? message = null)
    {
        ExitStatus = status;
        _exitMessage = message;
    }

    /// <summary>Answers the request with a JSON object of per-field errors instead of a message.</summary>
    public void Exit(int status, IReadOnlyDictionary<string, string> errors)
    {
        ExitStatus = status;
        _exitErrors = errors;
    }

    /// <summary>Answers the request with a body sent as given (no Content-Type header when <paramref name="contentType"/> is null).</summary>
    public void Exit(int status, byte[] body, string? contentType)
    {
        ExitStatus = status;
        _exitRaw = (body, contentType);
    }

    /// <summary>Applies the plugins' response headers and runs the header_filter phase of the plugins that ran.</summary>
    public void HeaderFilter()
    {
        var headers = Http.Response.Headers;
        if (_responseHeaders is not null)
        {
            foreach (var (name, value, append) in _responseHeaders)
                headers[name] = append ? StringValues.Concat(headers[name], value) : value;
        }
        foreach (var handler in _collected)
            handler?.HeaderFilter(this);
    }

    /// <summary>Sends the answer a plugin gave in the access phase; the caller has set the node's own headers (Server…).</summary>
    public async Task SendExitAsync(string? requestId)
    {
        var response = Http.Response;
        response.StatusCode = ExitStatus;
        // A message goes out as Kong's error body, with the request's id when it has one.
        var body = _exitRaw is { } raw ? raw.Body
            : _exitErrors is not null ? JsonSerializer.SerializeToUtf8Bytes(_exitErrors)
            : _exitMessage is null ? null
            : ErrorBody(_exitMessage, requestId);
        if (_exitRaw is { ContentType: var rawType })
        {
            if (rawType is not null)
                response.ContentType = rawType;
        }
        else if (body is not null)
            response.ContentType = "application/json; charset=utf-8";
        HeaderFilter();
        response.ContentLength = body?.Length ?? 0;
        if (body is not null)
            await response.Body.WriteAsync(body);
    }

    /// <summary>Kong's error body: the message, and the request's id when it has one.</summary>
    public static byte[] ErrorBody(string message, string? requestId) => requestId is null
        ? JsonSerializer.SerializeToUtf8Bytes(new { message })
        : JsonSerializer.SerializeToUtf8Bytes(new { message, request_id = requestId });

    /// <summary>
    /// Runs the log phase of the plugins that ran, and of those that log every request (metrics) when an
    /// earlier plugin answered before their access phase was reached.
    /// </summary>
    public void Log()
    {
        var slots = chain.Slots;
        var https = Http.Request.IsHttps;
        for (var i = 0; i < _collected.Length; i++)
        {
            if (_collected[i] is { } handler)
                handler.Log(this);
            else if (ExitStatus != 0 && slots[i].Resolve(Consumer?.Id) is { LogsEveryRequest: true } instance && (https ? instance.Https : instance.Http))
                instance.Handler.Log(this);
        }
    }
}
