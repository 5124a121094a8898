using Gantry.Configuration;

namespace Gantry.Admin;

/// <summary>
/// Cross-origin access for the admin GUI (Kong Manager runs in the browser and sends credentials). Only
/// the GUI's own origins are let in, and each is echoed back by name: a browser refuses
/// <c>Access-Control-Allow-Origin: *</c> together with credentials, and a wildcard would let any web page
/// drive the Admin API from an operator's browser. The origins are those of <c>admin_gui_url</c>, plus,
/// while <c>admin_gui_listen</c> is on, http(s)://localhost, 127.0.0.1 and [::1] at each of its ports
/// (the GUI served next to the node); requests from any other origin get no CORS headers at all.
/// </summary>
public sealed class AdminCors
{
    /// <summary>Request headers a GUI may send when none are asked for in the preflight.</summary>
    private const string DefaultAllowedHeaders = "Content-Type, Kong-Admin-Token, Kong-Request-Type, Cache-Control";

    private readonly HashSet<string> _origins;

    public AdminCors(IEnumerable<string> origins)
    {
        _origins = new HashSet<string>(origins, StringComparer.OrdinalIgnoreCase);
    }

    public static AdminCors None { get; } = new([]);

    public IReadOnlyCollection<string> Origins => _origins;

    public static AdminCors From(GantryConfig config)
    {
        var origins = new List<string>();
        foreach (var url in config.GetList("admin_gui_url"))
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                origins.Add(uri.GetLeftPart(UriPartial.Authority));
        }
        foreach (var listen in config.AdminGuiListen)
        {
            var scheme = listen.Ssl ? "https" : "http";
            foreach (var host in new[] { "localhost", "127.0.0.1", "[::1]" })
                origins.Add(new UriBuilder(scheme, host.Trim('[', ']'), listen.Port).Uri.GetLeftPart(UriPartial.Authority));
        }
        return new AdminCors(origins);
    }

    /// <summary>The request's Origin when it is one of the GUI's origins; null otherwise (or when there is none).</summary>
    public string? AllowedOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0 || !Uri.TryCreate(origin, UriKind.Absolute, out var uri))
            return null;
        // Compared in normalized form, so http://LOCALHOST:8002 and http://localhost:8002 are one origin.
        return _origins.Contains(uri.GetLeftPart(UriPartial.Authority)) ? origin : null;
    }

    public static void Echo(HttpResponse response, string origin)
    {
        response.Headers.AccessControlAllowOrigin = origin;
        response.Headers.AccessControlAllowCredentials = "true";
        response.Headers.Append("Vary", "Origin");
    }

    /// <summary>
    /// OPTIONS on a known path: 204 with the methods it answers (Allow, as Kong does for any client) and,
    /// for an allowed origin, the preflight grants.
    /// </summary>
    public static void Preflight(HttpContext http, string[] methods, bool allowedOrigin)
    {
        var list = string.Join(", ", methods);
        http.Response.StatusCode = 204;
        http.Response.Headers.Allow = list;
        if (!allowedOrigin)
            return;
        http.Response.Headers.AccessControlAllowMethods = list;
        var requested = http.Request.Headers.AccessControlRequestHeaders.ToString();
        http.Response.Headers.AccessControlAllowHeaders = requested.Length > 0 ? requested : DefaultAllowedHeaders;
        http.Response.Headers.AccessControlMaxAge = "3600";
    }
}
