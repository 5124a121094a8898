using System.Diagnostics;
using System.Globalization;
using Gantry.Configuration;

namespace Gantry.Proxy;

/// <summary>
/// The headers Gantry adds on its own account, as Kong's <c>headers</c> and <c>headers_upstream</c>
/// properties switch them on: parsed once at start into flags, so a request only tests booleans,
/// takes Stopwatch timestamps and allocates the header values themselves.
/// </summary>
public sealed class ProxyHeaders
{
    public static readonly string ServerToken = $"gantry/{GantryInfo.Version}";
    private static readonly string ViaToken = $"1.1 gantry/{GantryInfo.Version}";

    /// <summary>Everything on, for tests and for callers without a configuration.</summary>
    public static ProxyHeaders Default { get; } = Parse(["server_tokens", "latency_tokens", "X-Kong-Request-Id"], ["X-Kong-Request-Id"]);

    public bool Server { get; private init; }
    public bool Via { get; private init; }
    public bool ProxyLatency { get; private init; }
    public bool UpstreamLatency { get; private init; }
    public bool ResponseLatency { get; private init; }
    public bool UpstreamStatus { get; private init; }
    public bool RequestId { get; private init; }
    public bool RequestIdUpstream { get; private init; }

    public static ProxyHeaders From(GantryConfig config) => Parse(config.GetList("headers"), config.GetList("headers_upstream"));

    /// <summary>The configuration loader already refused unknown entries; names are compared ignoring case, as Kong does.</summary>
    public static ProxyHeaders Parse(IReadOnlyList<string> headers, IReadOnlyList<string> upstream)
    {
        bool Has(IReadOnlyList<string> list, string name) => !Off(list) && list.Contains(name, StringComparer.OrdinalIgnoreCase);
        var serverTokens = Has(headers, "server_tokens");
        var latencyTokens = Has(headers, "latency_tokens");
        return new ProxyHeaders
        {
            Server = serverTokens || Has(headers, "Server"),
            Via = serverTokens || Has(headers, "Via"),
            ProxyLatency = latencyTokens || Has(headers, "X-Kong-Proxy-Latency"),
            UpstreamLatency = latencyTokens || Has(headers, "X-Kong-Upstream-Latency"),
            ResponseLatency = latencyTokens || Has(headers, "X-Kong-Response-Latency"),
            UpstreamStatus = Has(headers, "X-Kong-Upstream-Status"),
            RequestId = Has(headers, "X-Kong-Request-Id"),
            RequestIdUpstream = Has(upstream, "X-Kong-Request-Id"),
        };
    }

    private static bool Off(IReadOnlyList<string> list) => list.Count == 0 || list.Any(e => e.Equals("off", StringComparison.OrdinalIgnoreCase));

    /// <summary>A new request id (32 hex digits, like Kong's) when a header carries it, else null.</summary>
    public string? NewRequestId()
    {
        if (!RequestId && !RequestIdUpstream)
            return null;
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>On a response the upstream gave: Via, Server when the upstream sent none, the latencies, the upstream status, the id.</summary>
    public void OnProxiedResponse(HttpResponse response, int upstreamStatus, long started, long sent, long received, string? requestId)
    {
        var headers = response.Headers;
        if (Via)
            headers.Append("Via", ViaToken);
        if (Server && !headers.ContainsKey("Server"))
            headers.Server = ServerToken;
        if (UpstreamLatency)
            headers["X-Kong-Upstream-Latency"] = Milliseconds(sent, received);
        if (ProxyLatency)
            headers["X-Kong-Proxy-Latency"] = Milliseconds(started, sent);
        if (UpstreamStatus)
            headers["X-Kong-Upstream-Status"] = upstreamStatus.ToString(CultureInfo.InvariantCulture);
        if (RequestId && requestId is not null)
            headers["X-Kong-Request-Id"] = requestId;
    }

    /// <summary>On an answer Gantry gives itself (404, 502, 503, 504…): Server, the time it took, the id.</summary>
    public void OnGeneratedResponse(HttpResponse response, long started, string? requestId)
    {
        var headers = response.Headers;
        if (Server)
            headers.Server = ServerToken;
        if (ResponseLatency)
            headers["X-Kong-Response-Latency"] = Milliseconds(started, Stopwatch.GetTimestamp());
        if (RequestId && requestId is not null)
            headers["X-Kong-Request-Id"] = requestId;
    }

    private static string Milliseconds(long from, long to) =>
        ((long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
