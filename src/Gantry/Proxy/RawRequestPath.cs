using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Proxy;

/// <summary>
/// The request path exactly as the client sent it: percent-encoding intact, without the query. Kestrel's
/// <see cref="HttpRequest.Path"/> is decoded (an encoded CR or LF becomes the byte itself), so nothing
/// that ends up on the upstream's request line or in a header may be built from it. Kong reads the same
/// raw path (nginx's <c>$request_uri</c>) for <c>X-Forwarded-Path</c> and hands it to its router.
/// </summary>
public static class RawRequestPath
{
    public static string Of(HttpContext http)
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target))
            return http.Request.Path.HasValue ? http.Request.Path.ToUriComponent() : "/";
        if (target[0] != '/')
            return FromAbsoluteForm(target);
        var query = target.IndexOf('?');
        return query < 0 ? target : target[..query];
    }

    /// <summary>
    /// <c>http://host:port/path?query</c>: Kestrel has already refused one whose authority differs from
    /// Host, so only the path is left to take. The asterisk form (<c>OPTIONS *</c>) has no path: "/".
    /// </summary>
    private static string FromAbsoluteForm(string target)
    {
        var scheme = target.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
            return "/";
        var pathStart = target.AsSpan(scheme + 3).IndexOfAny('/', '?', '#');
        if (pathStart < 0 || target[scheme + 3 + pathStart] != '/')
            return "/";
        var path = target.AsSpan(scheme + 3 + pathStart);
        var end = path.IndexOfAny('?', '#');
        return (end < 0 ? path : path[..end]).ToString();
    }
}
