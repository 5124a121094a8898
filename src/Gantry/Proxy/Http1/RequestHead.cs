using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace Gantry.Proxy.Http1;

/// <summary>
/// Writes the request line and header section the transformer built, as HttpClient would put them on
/// the wire for HTTP/1.1 (Host first; the framing header last), less every hop-by-hop header.
/// </summary>
internal static class RequestHead
{
    /// <summary>
    /// Headers that belong to one connection, never forwarded (RFC 9110 section 7.6.1), plus the ones
    /// written here: Host first, the framing headers from the body actually sent. Expect is dropped: Kestrel
    /// has already answered the client's 100-continue by the time the body is read, and an upstream waiting
    /// for its own 100 to be awaited would only add a round trip.
    /// </summary>
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Trailer",
    };

    public static void Write(PipeWriter writer, HttpRequestMessage message, HttpRequest request, bool chunked)
    {
        var uri = message.RequestUri!;
        WriteLatin1(writer, message.Method.Method);
        writer.Write(" "u8);
        WriteLatin1(writer, uri.PathAndQuery);
        writer.Write(" HTTP/1.1\r\nHost: "u8);
        WriteLatin1(writer, message.Headers.NonValidated.TryGetValues("Host", out var host) ? host.ToString() : uri.Authority);
        writer.Write("\r\n"u8);
        // Headers the client's Connection header names are hop-by-hop too.
        var named = request.Headers.Connection.Count == 0 ? null : ConnectionNames(request.Headers.Connection.ToString());
        foreach (var (name, values) in message.Headers.NonValidated)
            WriteField(writer, name, values.ToString(), named);
        if (message.Content is { } content)
        {
            foreach (var (name, values) in content.Headers.NonValidated)
            {
                if (name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
                {
                    writer.Write("Content-Length: "u8);
                    WriteLatin1(writer, values.ToString());
                    writer.Write("\r\n"u8);
                }
                else
                {
                    WriteField(writer, name, values.ToString(), named);
                }
            }
        }
        if (chunked)
            writer.Write("Transfer-Encoding: chunked\r\n"u8);
        else if (message.Content is null && MustHaveBody(message.Method))
            // As HttpClient does: a POST, PUT or PATCH without a body still says it has none.
            writer.Write("Content-Length: 0\r\n"u8);
        writer.Write("\r\n"u8);
    }

    /// <summary>Trailer fields of a chunked request body.</summary>
    public static void WriteFields(PipeWriter writer, IHeaderDictionary fields)
    {
        foreach (var (name, values) in fields)
            WriteField(writer, name, values.ToString(), named: null);
    }

    private static void WriteField(PipeWriter writer, string name, string value, HashSet<string>? named)
    {
        if (NotForwarded.Contains(name) || named?.Contains(name) == true)
            return;
        WriteLatin1(writer, name);
        writer.Write(": "u8);
        WriteLatin1(writer, value);
        writer.Write("\r\n"u8);
    }

    private static bool MustHaveBody(HttpMethod method) =>
        method != HttpMethod.Get && method != HttpMethod.Head && method != HttpMethod.Delete && method != HttpMethod.Options
        && method != HttpMethod.Trace && method != HttpMethod.Connect;

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
