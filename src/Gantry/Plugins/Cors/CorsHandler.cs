using System.Globalization;
using System.Text.RegularExpressions;
using Gantry.Plugins.Pipeline;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.Cors;

/// <summary>
/// Answers CORS preflight requests itself (unless <c>preflight_continue</c>) and adds the
/// Access-Control-* headers to other responses. An origin entry is compared exactly, or as a regex
/// matching the whole Origin when it holds characters a plain origin cannot.
/// </summary>
public sealed class CorsHandler : PluginHandler
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    private readonly bool _allowAll;
    private readonly string[] _exact;
    private readonly Regex[] _patterns;
    private readonly string? _headers;
    private readonly string _methods;
    private readonly string? _exposed;
    private readonly string? _maxAge;
    private readonly bool _credentials;
    private readonly bool _privateNetwork;
    private readonly bool _preflightContinue;

    public CorsHandler(PluginConfig config)
    {
        var origins = config.Strings("origins", []);
        _allowAll = origins.Length == 0 || origins.Contains("*");
        _exact = [.. origins.Where(o => !IsPattern(o))];
        _patterns = [.. origins.Where(IsPattern).Select(o => new Regex($"^(?:{o})$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout))];
        _headers = config.Strings("headers", []) is { Length: > 0 } headers ? string.Join(',', headers) : null;
        _methods = string.Join(',', config.Strings("methods", CorsPlugin.Methods));
        _exposed = config.Strings("exposed_headers", []) is { Length: > 0 } exposed ? string.Join(',', exposed) : null;
        _maxAge = config.Values["max_age"] is null ? null : ((long)config.Number("max_age", 0)).ToString(CultureInfo.InvariantCulture);
        _credentials = config.Flag("credentials", false);
        _privateNetwork = config.Flag("private_network", false);
        _preflightContinue = config.Flag("preflight_continue", false);
    }

    /// <summary>A plain origin is scheme://host[:port]; anything else is taken as a regex.</summary>
    private static bool IsPattern(string origin) => origin != "*" && origin.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':' or '/'));

    private static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.Origin.Count > 0 && request.Headers.AccessControlRequestMethod.Count > 0;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http.Request;
        if (_preflightContinue || !IsPreflight(http))
            return ValueTask.CompletedTask;
        var headers = new List<(string, string, bool)>();
        AddOriginHeaders(http, headers);
        var allowHeaders = _headers ?? (http.Headers.AccessControlRequestHeaders is { Count: > 0 } requested ? requested.ToString() : null);
        if (allowHeaders is not null)
            headers.Add(("Access-Control-Allow-Headers", allowHeaders, false));
        headers.Add(("Access-Control-Allow-Methods", _methods, false));
        if (_maxAge is not null)
            headers.Add(("Access-Control-Max-Age", _maxAge, false));
        if (_privateNetwork && string.Equals(http.Headers["Access-Control-Request-Private-Network"], "true", StringComparison.OrdinalIgnoreCase))
            headers.Add(("Access-Control-Allow-Private-Network", "true", false));
        foreach (var (name, value, append) in headers)
        {
            if (append)
                request.AppendResponseHeader(name, value);
            else
                request.SetResponseHeader(name, value);
        }
        request.Exit(200);
        return ValueTask.CompletedTask;
    }

    public override void HeaderFilter(PluginRequest request)
    {
        var http = request.Http.Request;
        // The preflight answer already carries its headers.
        if (!_preflightContinue && IsPreflight(http))
            return;
        var headers = new List<(string, string, bool)>();
        AddOriginHeaders(http, headers);
        if (_exposed is not null)
            headers.Add(("Access-Control-Expose-Headers", _exposed, false));
        var response = request.Http.Response.Headers;
        foreach (var (name, value, append) in headers)
            response[name] = append ? StringValues.Concat(response[name], value) : value;
    }

    /// <summary>Access-Control-Allow-Origin (and -Credentials, and Vary) for the request's Origin.</summary>
    private void AddOriginHeaders(HttpRequest http, List<(string Name, string Value, bool Append)> headers)
    {
        var origin = http.Headers.Origin.ToString();
        if (_allowAll)
        {
            // A wildcard cannot carry credentials: the origin is echoed instead.
            if (_credentials && origin.Length > 0)
            {
                headers.Add(("Access-Control-Allow-Origin", origin, false));
                headers.Add(("Vary", "Origin", true));
            }
            else
            {
                headers.Add(("Access-Control-Allow-Origin", "*", false));
            }
        }
        else
        {
            if (origin.Length > 0 && Allowed(origin))
                headers.Add(("Access-Control-Allow-Origin", origin, false));
            headers.Add(("Vary", "Origin", true));
        }
        if (_credentials)
            headers.Add(("Access-Control-Allow-Credentials", "true", false));
    }

    private bool Allowed(string origin)
    {
        foreach (var exact in _exact)
        {
            if (string.Equals(exact.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
                return true;
        }
        foreach (var pattern in _patterns)
        {
            try
            {
                if (pattern.IsMatch(origin))
                    return true;
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }
        return false;
    }
}
