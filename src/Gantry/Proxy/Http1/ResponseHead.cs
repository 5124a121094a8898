using System.Text;

namespace Gantry.Proxy.Http1;

/// <summary>An upstream's status line and header section, parsed strictly, with the framing they declare.</summary>
internal sealed class ResponseHead
{
    /// <summary>
    /// The most a status line and header section may take: nginx's proxy_buffer_size defaults to a page
    /// (4 or 8 KiB) and answers 502 past it; HttpClient's MaxResponseHeadersLength is 64 KiB. The larger
    /// one keeps every response YARP's forwarder passes passing here too.
    /// </summary>
    public const int MaxHeadBytes = 64 * 1024;

    public int Status { get; private set; }

    public string Reason { get; private set; } = "";

    public Version Version { get; private set; } = System.Net.HttpVersion.Version11;

    public List<KeyValuePair<string, string>> Headers { get; } = new(16);

    /// <summary>The body's length from Content-Length, or -1 when there is none.</summary>
    public long ContentLength { get; private set; } = -1;

    public bool Chunked { get; private set; }

    /// <summary>Whether the upstream lets the connection carry another request (HTTP/1.1 without <c>Connection: close</c>, or HTTP/1.0 with keep-alive).</summary>
    public bool KeepAlive { get; private set; }

    /// <summary>Header names the upstream's Connection header lists: hop-by-hop, not forwarded.</summary>
    public List<string>? ConnectionNames { get; private set; }

    /// <summary>
    /// Parses a response head from the start of <paramref name="data"/>. Returns the bytes it took, or 0 when
    /// the head is not all there yet; throws <see cref="HttpRequestException"/> with
    /// <see cref="HttpRequestError.InvalidResponse"/> for anything RFC 9112 lets a recipient reject: a bad
    /// status line, a line ending in a bare LF, a folded line, a bad header name or value, a head larger than
    /// <see cref="MaxHeadBytes"/>, and ambiguous framing (Content-Length repeated or with Transfer-Encoding,
    /// a transfer coding other than chunked). A proxy that guessed there could be desynchronised from the
    /// upstream, so the response is refused and the connection dropped.
    /// </summary>
    public static int TryParse(ReadOnlySpan<byte> data, out ResponseHead? head)
    {
        head = null;
        var lineEnd = data.IndexOf((byte)'\n');
        if (lineEnd < 0)
            return CheckSize(data.Length);
        var parsed = new ResponseHead();
        parsed.ParseStatusLine(Line(data, lineEnd));
        var position = lineEnd + 1;
        var contentLengths = 0;
        var transferEncodings = 0;
        while (true)
        {
            var rest = data[position..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0)
                return CheckSize(data.Length);
            var line = Line(rest, end);
            position += end + 1;
            if (position > MaxHeadBytes)
                throw Invalid($"its head is over {MaxHeadBytes} bytes");
            if (line.IsEmpty)
                break;
            ReadField(line, "header", out var rawName, out var value);
            var name = HeaderName(rawName);
            var text = Encoding.Latin1.GetString(value);
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLengths++;
                if (value.IsEmpty || value.ContainsAnyExceptInRange((byte)'0', (byte)'9') || !long.TryParse(value, out var length))
                    throw Invalid($"its Content-Length '{text}' is not a number");
                parsed.ContentLength = length;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                transferEncodings++;
                if (!text.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                    throw Invalid($"its Transfer-Encoding '{text}' is not chunked");
                parsed.Chunked = true;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                parsed.ReadConnection(text);
            }
            parsed.Headers.Add(new(name, text));
        }
        if (contentLengths > 1)
            throw Invalid("it has more than one Content-Length");
        if (transferEncodings > 1)
            throw Invalid("it has more than one Transfer-Encoding");
        if (contentLengths > 0 && transferEncodings > 0)
            throw Invalid("it has both Content-Length and Transfer-Encoding");
        head = parsed;
        return position;
    }

    /// <summary>A trailer line of a chunked body, held to the rules of a header line.</summary>
    public static KeyValuePair<string, string> ParseTrailer(ReadOnlySpan<byte> line)
    {
        ReadField(line, "trailer", out var name, out var value);
        return new(Encoding.ASCII.GetString(name), Encoding.Latin1.GetString(value));
    }

    /// <summary>
    /// One field line, of the head or of a chunked body's trailer (<paramref name="kind"/> names which in the
    /// error): no folding, a token for a name, no control character in the value (tabs aside).
    /// </summary>
    private static void ReadField(ReadOnlySpan<byte> line, string kind, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
            throw Invalid($"a {kind} line is folded (obs-fold)");
        var colon = line.IndexOf((byte)':');
        if (colon <= 0 || !IsToken(line[..colon]))
            throw Invalid($"a {kind} line has no valid name");
        name = line[..colon];
        value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7F)
                throw Invalid($"a {kind} value has a control character");
        }
    }

    /// <summary>The size on a chunk-size line (hex digits, then possibly extensions, which are ignored).</summary>
    public static long ParseChunkSize(ReadOnlySpan<byte> line)
    {
        var digits = 0;
        long size = 0;
        while (digits < line.Length && HexValue(line[digits]) is var value and >= 0)
        {
            if (++digits > 15)
                throw Invalid("a chunk size is too large");
            size = size * 16 + value;
        }
        if (digits == 0)
            throw Invalid("a chunk-size line has no size");
        var rest = line[digits..].TrimStart(" \t"u8);
        if (!rest.IsEmpty && rest[0] != (byte)';')
            throw Invalid("a chunk-size line is malformed");
        foreach (var b in rest)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7F)
                throw Invalid("a chunk extension has a control character");
        }
        return size;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>A line of a chunked body's framing: ends in CRLF, no bare CR or LF.</summary>
    public static ReadOnlySpan<byte> FramingLine(ReadOnlySpan<byte> data, int lf) => Line(data, lf);

    public static HttpRequestException Invalid(string why) =>
        new(HttpRequestError.InvalidResponse, $"The upstream's response is invalid: {why}");

    private bool _close;
    private bool _keepAliveToken;

    private void ReadConnection(string value)
    {
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("close", StringComparison.OrdinalIgnoreCase))
                _close = true;
            else if (part.Equals("keep-alive", StringComparison.OrdinalIgnoreCase))
                _keepAliveToken = true;
            else
                (ConnectionNames ??= []).Add(part);
        }
        KeepAlive = !_close && (Version == System.Net.HttpVersion.Version11 || _keepAliveToken);
    }

    private void ParseStatusLine(ReadOnlySpan<byte> line)
    {
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[7] is not ((byte)'0' or (byte)'1') || line[8] != (byte)' '
            || !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) || line.Length > 12 && line[12] != (byte)' ')
            throw Invalid("its status line is malformed");
        Version = line[7] == (byte)'1' ? System.Net.HttpVersion.Version11 : System.Net.HttpVersion.Version10;
        KeepAlive = Version == System.Net.HttpVersion.Version11;
        Status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (Status < 100)
            throw Invalid("its status code is below 100");
        var reason = line.Length > 13 ? line[13..] : [];
        foreach (var b in reason)
        {
            if (b < 0x20 && b != (byte)'\t' || b == 0x7F)
                throw Invalid("its reason phrase has a control character");
        }
        Reason = reason.IsEmpty ? "" : Encoding.Latin1.GetString(reason);
    }

    /// <summary>The line before the LF at <paramref name="lf"/>, which must follow a CR: a bare LF is refused.</summary>
    private static ReadOnlySpan<byte> Line(ReadOnlySpan<byte> data, int lf)
    {
        if (lf == 0 || data[lf - 1] != (byte)'\r')
            throw Invalid("a line ends in a bare LF");
        var line = data[..(lf - 1)];
        if (line.Contains((byte)'\r'))
            throw Invalid("a line has a bare CR");
        return line;
    }

    private static int CheckSize(int length) => length > MaxHeadBytes ? throw Invalid($"its head is over {MaxHeadBytes} bytes") : 0;

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    // RFC 9110 tchar.
    private static readonly System.Buffers.SearchValues<byte> TokenChars =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    private static bool IsToken(ReadOnlySpan<byte> name) => !name.IsEmpty && !name.ContainsAnyExcept(TokenChars);

    /// <summary>The header name as a string, without allocating for the names nearly every response has (as the upstream spelt them).</summary>
    private static string HeaderName(ReadOnlySpan<byte> name)
    {
        foreach (var (text, bytes) in KnownNames)
        {
            if (name.SequenceEqual(bytes))
                return text;
        }
        return Encoding.ASCII.GetString(name);
    }

    private static readonly (string, byte[])[] KnownNames =
        Array.ConvertAll(["Content-Length", "Content-Type", "Date", "Server", "Connection", "Transfer-Encoding", "Keep-Alive", "Cache-Control", "ETag",
            "Last-Modified", "content-length", "content-type", "date", "server", "connection", "transfer-encoding"], n => (n, Encoding.ASCII.GetBytes(n)));

}
