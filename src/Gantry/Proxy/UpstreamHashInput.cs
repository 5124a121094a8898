using Gantry.Entities.Records;
using Gantry.Routing;

namespace Gantry.Proxy;

/// <summary>
/// What consistent hashing hashes for a request: the upstream's <c>hash_on</c> input, else its
/// <c>hash_fallback</c>, else nothing (the balancer then spreads the request round the continuum).
/// </summary>
public sealed class UpstreamHashInput
{
    public static UpstreamHashInput None { get; } = new(HashSource.None, null, HashSource.None, null, "/");

    private readonly HashSource _primary;
    private readonly string? _primaryName;
    private readonly HashSource _fallback;
    private readonly string? _fallbackName;
    private readonly string _cookiePath;

    private UpstreamHashInput(HashSource primary, string? primaryName, HashSource fallback, string? fallbackName, string cookiePath)
    {
        _primary = primary;
        _primaryName = primaryName;
        _fallback = fallback;
        _fallbackName = fallbackName;
        _cookiePath = cookiePath;
    }

    private enum HashSource { None, Consumer, Ip, Header, Cookie, Path, QueryArg, UriCapture }

    /// <summary>Reads the hash fields of a stored upstream; the schema has already checked that each mode names its input.</summary>
    public static UpstreamHashInput From(UpstreamRecord upstream)
    {
        var primary = Parse(upstream.HashOn);
        var fallback = Parse(upstream.HashFallback);
        if (primary == HashSource.None)
            return None;
        return new UpstreamHashInput(primary, NameOf(primary, upstream.HashOnHeader, upstream.HashOnQueryArg, upstream.HashOnUriCapture, upstream.HashOnCookie),
            fallback, NameOf(fallback, upstream.HashFallbackHeader, upstream.HashFallbackQueryArg, upstream.HashFallbackUriCapture, upstream.HashOnCookie),
            upstream.HashOnCookiePath);
    }

    /// <summary>The key to hash, or null for none. A missing hash cookie is created here and sent back with the response.</summary>
    public string? Key(HttpContext http, in RouteMatch match)
    {
        if (_primary == HashSource.None)
            return null;
        return Read(http, match, _primary, _primaryName) ?? Read(http, match, _fallback, _fallbackName);
    }

    private string? Read(HttpContext http, in RouteMatch match, HashSource source, string? name)
    {
        var request = http.Request;
        string? value = source switch
        {
            HashSource.Consumer => ProxyRequestContext.ConsumerId(http)?.ToString(),
            HashSource.Ip => http.Connection.RemoteIpAddress?.ToString(),
            // Repeated headers and query arguments hash as their values joined by commas.
            HashSource.Header => request.Headers[name!].ToString(),
            HashSource.Path => request.Path.Value,
            HashSource.QueryArg => request.Query[name!].ToString(),
            HashSource.UriCapture => Capture(match.Captures, name!),
            HashSource.Cookie => request.Cookies[name!] ?? NewCookie(http, name!),
            _ => null,
        };
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>A client without the hash cookie gets a fresh one, so its next requests stick to the same target.</summary>
    private string NewCookie(HttpContext http, string name)
    {
        var value = Guid.NewGuid().ToString();
        http.Response.Headers.Append("Set-Cookie", $"{name}={value}; Path={_cookiePath}");
        return value;
    }

    /// <summary>A named group, or a numbered one when the name is a number.</summary>
    private static string? Capture(RouteCaptures? captures, string name)
    {
        if (captures is null)
            return null;
        if (captures.Named.TryGetValue(name, out var named))
            return named;
        return int.TryParse(name, System.Globalization.NumberStyles.None, null, out int index) && index < captures.Unnamed.Count
            ? captures.Unnamed[index]
            : null;
    }

    private static HashSource Parse(string? mode) => mode switch
    {
        "consumer" => HashSource.Consumer,
        "ip" => HashSource.Ip,
        "header" => HashSource.Header,
        "cookie" => HashSource.Cookie,
        "path" => HashSource.Path,
        "query_arg" => HashSource.QueryArg,
        "uri_capture" => HashSource.UriCapture,
        _ => HashSource.None,
    };

    /// <summary>The header, query argument, capture or cookie a mode hashes.</summary>
    private static string? NameOf(HashSource source, string? header, string? queryArg, string? uriCapture, string? cookie) => source switch
    {
        HashSource.Header => header,
        HashSource.Cookie => cookie,
        HashSource.QueryArg => queryArg,
        HashSource.UriCapture => uriCapture,
        _ => null,
    };
}
