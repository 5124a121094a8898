namespace Gantry.Proxy;

/// <summary>
/// What Gantry changes in a request bound upstream, decided once per try by <see cref="UpstreamTransformer"/>:
/// the path and query, the Host header, and the headers it sets. Both forwarders apply the same edits:
/// YARP's to the <see cref="HttpRequestMessage"/> it sends, Gantry's HTTP/1.1 forwarder while it writes the
/// client's headers to the wire (<see cref="Http1.RequestHead"/>), without building a message at all.
/// </summary>
public sealed class UpstreamRequestEdits
{
    private readonly List<(string Name, string Value, bool Append)> _headers = new(10);

    /// <summary>The path and query sent upstream, as the route and plugins made them (not yet canonicalised, see <see cref="Target"/>).</summary>
    public string PathAndQuery { get; set; } = "/";

    /// <summary>The Host header sent upstream; null for the destination's authority (an HTTP/1.0 request without one, under preserve_host).</summary>
    public string? Host { get; set; }

    /// <summary>
    /// A chunked request goes upstream chunked, without the client's Content-Length (RFC 9112 section 6.3).
    /// Kestrel takes Content-Length off such a request itself, but moves its value into a header of its
    /// own, X-Content-Length, with no switch to stop it. Beside a Transfer-Encoding, that header is
    /// Kestrel's whenever the client sent a Content-Length, and nothing tells it from one the client
    /// wrote itself, so it is not forwarded at all. (A client sending X-Content-Length beside both
    /// framing headers never gets this far: Kestrel fails to add its own and drops the connection.)
    /// </summary>
    public bool DropsClientLength { get; init; }

    /// <summary>The client's fields that <see cref="DropsClientLength"/> keeps from the upstream.</summary>
    private static readonly string[] LengthFields = ["Content-Length", "X-Content-Length"];

    /// <summary>Whether the client's field <paramref name="name"/> stays behind because of <see cref="DropsClientLength"/>.</summary>
    public bool Drops(string name) => DropsClientLength && LengthFields.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The headers set or appended, in the order they were.</summary>
    public IReadOnlyList<(string Name, string Value, bool Append)> Headers => _headers;

    /// <summary>Replaces any value the client sent: the header goes upstream after the client's other headers.</summary>
    public void Set(string name, string value) => _headers.Add((name, value, false));

    /// <summary>Adds a value to the client's (as one comma-separated field in its place), or the header after the others when the client sent none.</summary>
    public void Append(string name, string value) => _headers.Add((name, value, true));

    /// <summary>Whether the edits set (replace) the header <paramref name="name"/>.</summary>
    public bool Replaces(string name)
    {
        foreach (var (edited, _, append) in _headers)
        {
            if (!append && edited.Equals(name, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>The value appended to the header <paramref name="name"/>, or null.</summary>
    public string? Appended(string name)
    {
        foreach (var (edited, value, append) in _headers)
        {
            if (append && edited.Equals(name, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        return null;
    }

    /// <summary>
    /// The request target as HttpClient sends it: the path and query through <see cref="Uri"/>'s canonical form
    /// (escaping, dot segments). A target made only of characters the form leaves alone is taken as it is,
    /// which is nearly every request, and spares building a <see cref="Uri"/> for it.
    /// </summary>
    public string Target(string destinationPrefix) =>
        IsCanonical(PathAndQuery) ? PathAndQuery : Uri(destinationPrefix).PathAndQuery;

    public Uri Uri(string destinationPrefix) => new(destinationPrefix + PathAndQuery, UriKind.Absolute);

    /// <summary>The name of the first header edited in whose value (or the Host) has a CR, LF or NUL, or null.</summary>
    public string? FindUnsafe()
    {
        if (Host is not null && !UpstreamHeaderGuard.IsSafe(Host))
            return "Host";
        foreach (var (name, value, _) in _headers)
        {
            if (!UpstreamHeaderGuard.IsSafe(value))
                return name;
        }
        return null;
    }

    /// <summary>Applies the edits to the message YARP's forwarder sends, whose headers are the client's copied.</summary>
    public void ApplyTo(HttpRequestMessage message, string destinationPrefix)
    {
        message.RequestUri = Uri(destinationPrefix);
        message.Headers.Host = Host;
        foreach (var (name, value, append) in _headers)
        {
            if (!append)
                message.Headers.Remove(name);
            message.Headers.TryAddWithoutValidation(name, value);
        }
        // Content-Length is a content field and X-Content-Length a request field (each collection refuses the other's names).
        if (DropsClientLength)
        {
            message.Headers.Remove("X-Content-Length");
            message.Content?.Headers.Remove("Content-Length");
        }
    }

    /// <summary>
    /// Whether <see cref="Uri"/> would give the path and query back unchanged: an absolute path of RFC 3986
    /// characters that need no escaping, with no dot segment and no percent sign (whose escapes Uri may rewrite).
    /// </summary>
    internal static bool IsCanonical(string pathAndQuery)
    {
        if (pathAndQuery.Length == 0 || pathAndQuery[0] != '/')
            return false;
        var inQuery = false;
        for (var i = 0; i < pathAndQuery.Length; i++)
        {
            var c = pathAndQuery[i];
            if (c == '?')
                inQuery = true;
            else if (!IsPlain(c))
                return false;
            else if (c == '.' && !inQuery && pathAndQuery[i - 1] == '/')
                return false;
        }
        return true;
    }

    private static bool IsPlain(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
            or '-' or '.' or '_' or '~' or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '=' or ':' or '@' or '/';
}
