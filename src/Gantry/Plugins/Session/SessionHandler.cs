using System.Buffers.Text;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Session;

/// <summary>
/// Access: a valid session cookie authenticates its consumer and credential (later authentication plugins
/// with <c>anonymous</c> set then let the request pass, as Kong's do), and a logout request with a valid
/// session is answered 200 with the cookie cleared. Header filter: a request another plugin authenticated
/// gets a new session cookie; a session in use is touched or renewed as its timeouts run down.
/// </summary>
public sealed class SessionHandler : PluginHandler
{
    private static readonly object OpenedKey = new();

    private readonly SessionCookie _cookie;
    private readonly FrozenDictionary<Guid, ConsumerInfo> _consumers;
    private readonly string _audience;
    private readonly long _idling, _rolling, _absolute;
    private readonly string _name;
    private readonly string _attributes;
    private readonly string[] _requestHeaders, _responseHeaders;
    private readonly string[] _logoutMethods;
    private readonly string _logoutQuery, _logoutPost;
    private readonly bool _readBody;
    private readonly string[] _bind;

    public SessionHandler(PluginConfig config, PluginSetup setup)
    {
        _cookie = new SessionCookie(config.Text("secret")!);
        _consumers = setup.Consumers;
        _audience = config.Text("audience") ?? "default";
        var remember = config.Flag("remember", false);
        // A remembered session outlives the browser: a persistent cookie with the remember timeouts and no idling one.
        _idling = remember ? 0 : (long)config.Number("idling_timeout", 900);
        _rolling = (long)(remember ? config.Number("remember_rolling_timeout", 604800) : config.Number("rolling_timeout", 3600));
        _absolute = (long)(remember ? config.Number("remember_absolute_timeout", 2592000) : config.Number("absolute_timeout", 86400));
        _name = config.Text("cookie_name") ?? "session";
        var attributes = new StringBuilder("; Path=").Append(config.Text("cookie_path") ?? "/");
        if (config.Text("cookie_domain") is { Length: > 0 } domain)
            attributes.Append("; Domain=").Append(domain);
        if (config.Text("cookie_same_site") is { } sameSite and not "Default")
            attributes.Append("; SameSite=").Append(sameSite);
        if (config.Flag("cookie_http_only", true))
            attributes.Append("; HttpOnly");
        if (config.Flag("cookie_secure", true))
            attributes.Append("; Secure");
        if (remember && _rolling > 0)
            attributes.Append("; Max-Age=").Append(_rolling.ToString(CultureInfo.InvariantCulture));
        _attributes = attributes.ToString();
        _requestHeaders = config.Strings("request_headers", []);
        _responseHeaders = config.Strings("response_headers", []);
        _logoutMethods = config.Strings("logout_methods", ["POST", "DELETE"]);
        _logoutQuery = config.Text("logout_query_arg") ?? "session_logout";
        _logoutPost = config.Text("logout_post_arg") ?? "session_logout";
        _readBody = config.Flag("read_body_for_logout", false);
        _bind = config.Strings("bind", []);
    }

    public override async ValueTask AccessAsync(PluginRequest request)
    {
        var http = request.Http;
        if (http.Request.Cookies[_name] is not { Length: > 0 } value)
            return;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (_cookie.Open(value, Binding(http)) is not { } session || !IsValid(session, now))
            return;
        if (await IsLogoutAsync(http.Request))
        {
            request.SetResponseHeader("Set-Cookie", $"{_name}={_attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:01 GMT");
            request.Exit(200, [], null);
            return;
        }
        // A consumer deleted since the cookie was issued has no session any more.
        if (!_consumers.TryGetValue(session.Consumer, out var consumer))
            return;
        request.Authenticate(consumer, session.Credential);
        http.Items[OpenedKey] = session;
        foreach (var name in _requestHeaders)
            http.Request.Headers[HeaderName(name)] = HeaderValue(name, session, now);
    }

    public override void HeaderFilter(PluginRequest request)
    {
        var http = request.Http;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        SessionState? sent = null;
        if (http.Items[OpenedKey] is SessionState opened)
        {
            sent = opened;
            if (_rolling > 0 && now - opened.RollingStart >= Math.Max(1, _rolling / 2))
                sent = opened with { Id = SessionCookie.NewId(), RollingStart = now, Touched = now };
            else if (_idling > 0 && now - opened.Touched >= Math.Max(1, _idling / 4))
                sent = opened with { Touched = now };
            if (!ReferenceEquals(sent, opened))
                SetCookie(http, sent);
        }
        else if (request.Consumer is { } consumer && request.CredentialId is { } credential)
        {
            // Another plugin authenticated this request: from now on the cookie does.
            sent = new SessionState(SessionCookie.NewId(), consumer.Id, credential, _audience, now, now, now);
            SetCookie(http, sent);
        }
        if (sent is null)
            return;
        foreach (var name in _responseHeaders)
            http.Response.Headers[HeaderName(name)] = HeaderValue(name, sent, now);
    }

    private void SetCookie(HttpContext http, SessionState session) =>
        http.Response.Headers.Append("Set-Cookie", _name + "=" + _cookie.Seal(session, Binding(http)) + _attributes);

    private bool IsValid(SessionState session, long now) =>
        session.Audience == _audience
        && (_absolute == 0 || now < session.Created + _absolute)
        && (_rolling == 0 || now < session.RollingStart + _rolling)
        && (_idling == 0 || now < session.Touched + _idling);

    private async ValueTask<bool> IsLogoutAsync(HttpRequest http)
    {
        if (!_logoutMethods.Contains(http.Method, StringComparer.OrdinalIgnoreCase))
            return false;
        if (http.Query.ContainsKey(_logoutQuery))
            return true;
        return _readBody && HttpMethods.IsPost(http.Method) && (await RequestBody.ReadAsync(http)).Get(_logoutPost).Count > 0;
    }

    /// <summary>The request properties the cookie is bound to (config bind), as the cipher's associated data.</summary>
    private byte[] Binding(HttpContext http)
    {
        if (_bind.Length == 0)
            return [];
        var text = new StringBuilder();
        foreach (var property in _bind)
        {
            text.Append(property).Append('=').Append(property switch
            {
                "ip" => http.Connection.RemoteIpAddress?.ToString(),
                "scheme" => http.Request.Scheme,
                "user-agent" => http.Request.Headers.UserAgent.ToString(),
                _ => "",
            }).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string HeaderName(string value) => value switch
    {
        "id" => "Session-Id",
        "audience" => "Session-Audience",
        "subject" => "Session-Subject",
        "timeout" => "Session-Timeout",
        "idling-timeout" => "Session-Idling-Timeout",
        "rolling-timeout" => "Session-Rolling-Timeout",
        _ => "Session-Absolute-Timeout",
    };

    private string HeaderValue(string value, SessionState session, long now)
    {
        long Left(long timeout, long from) => timeout == 0 ? 0 : Math.Max(0, from + timeout - now);
        var idling = Left(_idling, session.Touched);
        var rolling = Left(_rolling, session.RollingStart);
        var absolute = Left(_absolute, session.Created);
        return value switch
        {
            "id" => Base64Url.EncodeToString(session.Id),
            "audience" => session.Audience,
            "subject" => session.Consumer.ToString(),
            "timeout" => new[] { idling, rolling, absolute }.Where(t => t > 0).DefaultIfEmpty(0).Min().ToString(CultureInfo.InvariantCulture),
            "idling-timeout" => idling.ToString(CultureInfo.InvariantCulture),
            "rolling-timeout" => rolling.ToString(CultureInfo.InvariantCulture),
            _ => absolute.ToString(CultureInfo.InvariantCulture),
        };
    }
}
