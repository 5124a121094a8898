using System.Buffers;
using System.Collections.Frozen;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gantry.Proxy.Http1;

/// <summary>
/// The request line and header section Gantry's HTTP/1.1 forwarder sends: the client's headers as YARP's
/// forwarder would copy them into a request message, with <see cref="UpstreamRequestEdits"/> applied, written
/// as HttpClient puts such a message on the wire (Host first, the general headers, then the content headers,
/// then the framing header), less every hop-by-hop header. No message is built: this is the forwarder's hot path.
/// </summary>
internal sealed class RequestHead
{
    [Flags]
    private enum FieldKind
    {
        Other = 0,
        /// <summary>
        /// Belongs to one connection, never forwarded (RFC 9110 section 7.6.1), or written here: Host first, the
        /// framing headers from the body actually sent. Expect is dropped: Kestrel has already answered the
        /// client's 100-continue by the time the body is read, and an upstream waiting for its own 100 to be
        /// awaited would only add a round trip.
        /// </summary>
        NotForwarded = 1,
        /// <summary>One YARP's forwarder never copies, either way (its RequestUtilities list), beside HTTP/2 pseudo-headers.</summary>
        NotCopied = 2,
        /// <summary>One HttpClient keeps with a message's content, written after the others.</summary>
        Content = 4,
    }

    /// <summary>What each special field name is, looked up once per field on the hot path (other names are <see cref="FieldKind.Other"/>).</summary>
    private static readonly FrozenDictionary<string, FieldKind> Kinds = new (string[] Names, FieldKind Kind)[]
    {
        (["Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Trailer"],
            FieldKind.NotForwarded),
        (["Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authentication-Info",
            "Proxy-Authorization", "Proxy-Features", "Proxy-Instruction", "Security-Scheme", "ALPN", "Close", "HTTP2-Settings", "TE", "Alt-Svc"],
            FieldKind.NotCopied),
        (["Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
            "Content-Range", "Content-Type", "Expires", "Last-Modified"], FieldKind.Content),
    }.SelectMany(group => group.Names.Select(name => (name, group.Kind)))
        .GroupBy(entry => entry.name, StringComparer.OrdinalIgnoreCase)
        .ToFrozenDictionary(group => group.Key, group => group.Aggregate(FieldKind.Other, (kind, entry) => kind | entry.Kind), StringComparer.OrdinalIgnoreCase);

    private static FieldKind KindOf(string name) => Kinds.GetValueOrDefault(name);

    private readonly HttpRequest _request;
    private readonly UpstreamRequestEdits _edits;
    private readonly string _destinationPrefix;
    private readonly bool _hasBody;

    public RequestHead(HttpRequest request, UpstreamRequestEdits edits, string destinationPrefix, bool hasBody)
    {
        _request = request;
        _edits = edits;
        _destinationPrefix = destinationPrefix;
        _hasBody = hasBody;
        // As HttpMethod.Parse reads it, the way HttpClient would send it: known methods in upper case.
        Method = HttpMethod.Parse(request.Method).Method;
        ContentLength = edits.DropsClientLength || !request.Headers.TryGetValue(HeaderNames.ContentLength, out var length) ? -1 : ParseLength(length.ToString());
    }

    public string Method { get; }

    /// <summary>The Content-Length sent upstream, or -1 (none, or the body goes chunked).</summary>
    public long ContentLength { get; }

    public void Write(PipeWriter writer, bool chunked)
    {
        WriteLatin1(writer, Method);
        writer.Write(" "u8);
        WriteLatin1(writer, _edits.Target(_destinationPrefix));
        writer.Write(" HTTP/1.1\r\nHost: "u8);
        WriteLatin1(writer, _edits.Host ?? _edits.Uri(_destinationPrefix).Authority);
        writer.Write("\r\n"u8);
        // Headers the client's Connection header names are hop-by-hop too.
        var named = _request.Headers.Connection.Count == 0 ? null : ConnectionNames(_request.Headers.Connection.ToString());
        var hasContent = _hasBody;
        foreach (var (name, values) in _request.Headers)
        {
            var kind = KindOf(name);
            if (!Copied(name, kind))
                continue;
            if ((kind & FieldKind.Content) != 0)
                hasContent = true;
            else if (!_edits.Replaces(name))
                WriteField(writer, name, Join(name, values, _edits.Appended(name)), named, kind);
        }
        foreach (var (name, value, append) in _edits.Headers)
        {
            if (!append || !_request.Headers.ContainsKey(name))
                WriteField(writer, name, value, named, KindOf(name));
        }
        if (hasContent)
        {
            foreach (var (name, values) in _request.Headers)
            {
                var kind = KindOf(name);
                if (!Copied(name, kind) || (kind & FieldKind.Content) == 0)
                    continue;
                if (name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
                {
                    writer.Write("Content-Length: "u8);
                    WriteLatin1(writer, values.ToString());
                    writer.Write("\r\n"u8);
                }
                else
                {
                    WriteField(writer, name, Join(name, values, null), named, kind);
                }
            }
        }
        if (chunked)
            writer.Write("Transfer-Encoding: chunked\r\n"u8);
        else if (!hasContent && MustHaveBody(Method))
            // As HttpClient does: a POST, PUT or PATCH without a body still says it has none.
            writer.Write("Content-Length: 0\r\n"u8);
        writer.Write("\r\n"u8);
    }

    /// <summary>Whether a header is one YARP's forwarder leaves out of what it copies, in a request or a response (hop-by-hop and proxy-only fields).</summary>
    public static bool IsNeverCopied(string name) => (KindOf(name) & FieldKind.NotCopied) != 0;

    /// <summary>Whether YARP's copy would take the client's header into the message (and the framing left it there).</summary>
    private bool Copied(string name, FieldKind kind) =>
        (kind & FieldKind.NotCopied) == 0 && !name.StartsWith(':')
        && !_edits.Drops(name);

    /// <summary>A header's values as one field, as YARP and HttpClient join them (cookies with '; ', User-Agent's products with a space), with an appended value last.</summary>
    private static string Join(string name, StringValues values, string? appended)
    {
        var value = values.Count == 1 ? values[0] ?? ""
            : string.Join(name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? "; "
                : name.Equals(HeaderNames.UserAgent, StringComparison.OrdinalIgnoreCase) ? " " : ", ",
                values.ToArray());
        return appended is null ? value : value + ", " + appended;
    }

    private static long ParseLength(string value) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, null, out var length) ? length : -1;

    /// <summary>Trailer fields of a chunked request body.</summary>
    public static void WriteFields(PipeWriter writer, IHeaderDictionary fields)
    {
        foreach (var (name, values) in fields)
            WriteField(writer, name, values.ToString(), named: null, KindOf(name));
    }

    private static void WriteField(PipeWriter writer, string name, string value, HashSet<string>? named, FieldKind kind)
    {
        if ((kind & FieldKind.NotForwarded) != 0 || named?.Contains(name) == true)
            return;
        WriteLatin1(writer, name);
        writer.Write(": "u8);
        WriteLatin1(writer, value);
        writer.Write("\r\n"u8);
    }

    private static bool MustHaveBody(string method) =>
        method is not ("GET" or "HEAD" or "DELETE" or "OPTIONS" or "TRACE" or "CONNECT");

    private static HashSet<string> ConnectionNames(string connection)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connection.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.Equals("keep-alive", StringComparison.OrdinalIgnoreCase) && !part.Equals("close", StringComparison.OrdinalIgnoreCase))
                names.Add(part);
        }
        return names;
    }

    /// <summary>Latin-1, as HttpClient encodes header values by default; the guard upstream has refused CR, LF and NUL.</summary>
    private static void WriteLatin1(PipeWriter writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        var written = Encoding.Latin1.GetBytes(text, span);
        writer.Advance(written);
    }
}
