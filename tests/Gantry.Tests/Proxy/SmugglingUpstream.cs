using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gantry.Tests.Proxy;

/// <summary>
/// An upstream on a bare socket that keeps every byte the proxy sends and reads requests out of them the
/// way a lenient backend would (a bare LF ends a line, as many servers accept), so that anything the proxy
/// lets through as a second request or an extra header shows up here. Each request is answered with a
/// short 200 and <c>Connection: close</c>; whatever follows the first request on the connection is still
/// read to the end and parsed, since that is exactly where a smuggled request would sit.
/// </summary>
public sealed class SmugglingUpstream : RecordingUpstream<UpstreamConnection>
{
    private static readonly byte[] Answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray();
    /// <summary>Every request parsed from every connection since the last <see cref="Clear"/>.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => [.. Connections.SelectMany(c => c.Requests)];

    /// <summary>Waits until every connection received so far has been read to its end (the proxy closed it), or the time is up.</summary>
    public async Task SettleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && Connections.Any(c => !c.Finished))
            await Task.Delay(20);
    }

    protected override async Task ServeAsync(TcpClient client, UpstreamConnection connection)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[8192];
            var answered = false;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Stop.Token);
            limit.CancelAfter(TimeSpan.FromSeconds(20));
            while (true)
            {
                var read = await stream.ReadAsync(buffer, limit.Token);
                if (read == 0)
                    break;
                connection.Append(buffer.AsSpan(0, read));
                // One answer, once the first request is complete; the proxy then closes, and the rest is read to the end.
                if (!answered && connection.Requests.Count > 0)
                {
                    answered = true;
                    await stream.WriteAsync(Answer, limit.Token);
                    // An answer in bytes the proxy may have read ahead of; half-closing makes the end unambiguous.
                    client.Client.Shutdown(SocketShutdown.Send);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy reset the connection or the test ended; what arrived is recorded.
        }
        finally
        {
            connection.Finish();
        }
    }
}

/// <summary>The bytes one upstream connection received, and the requests a lenient parser reads from them.</summary>
public sealed class UpstreamConnection
{
    private readonly object _gate = new();
    private readonly MemoryStream _bytes = new();
    private List<ReceivedRequest> _requests = [];
    private volatile bool _finished;

    public byte[] Bytes
    {
        get
        {
            lock (_gate)
                return _bytes.ToArray();
        }
    }

    public IReadOnlyList<ReceivedRequest> Requests
    {
        get
        {
            lock (_gate)
                return _requests;
        }
    }

    public bool Finished => _finished;

    internal void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            _bytes.Write(data);
            _requests = LenientParser.Parse(_bytes.ToArray());
        }
    }

    internal void Finish() => _finished = true;
}

/// <summary>One request as the upstream read it: its request line, its header lines (name and value) and its body.</summary>
public sealed record ReceivedRequest(string RequestLine, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string Target => RequestLine.Split(' ') is { Length: >= 2 } parts ? parts[1] : "";

    public IReadOnlyList<string> Values(string name) =>
        [.. Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    public string? Single(string name) => Values(name) is [var only] ? only : null;

    public bool Has(string name) => Values(name).Count > 0;
}

/// <summary>
/// Reads requests back to back: a head ends at the first empty line (a line ends at LF, a CR before it is
/// dropped); the body is chunked when any Transfer-Encoding line is present, else as long as the first
/// Content-Length says, else empty. A request whose head or body is not complete yet is not counted.
/// </summary>
internal static class LenientParser
{
    public static List<ReceivedRequest> Parse(byte[] data)
    {
        var requests = new List<ReceivedRequest>();
        var position = 0;
        while (true)
        {
            // Leading empty lines between requests are ignored, as RFC 9112 lets a server do.
            while (position < data.Length && (data[position] == '\r' || data[position] == '\n'))
                position++;
            if (position >= data.Length || !TryParse(data, ref position, out var request))
                return requests;
            requests.Add(request);
        }
    }

    private static bool TryParse(byte[] data, ref int position, out ReceivedRequest request)
    {
        request = null!;
        var lines = new List<string>();
        var cursor = position;
        while (true)
        {
            var end = Array.IndexOf(data, (byte)'\n', cursor);
            if (end < 0)
                return false;
            var line = Encoding.Latin1.GetString(data, cursor, end - cursor).TrimEnd('\r');
            cursor = end + 1;
            if (line.Length == 0)
                break;
            lines.Add(line);
        }
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers.Add(colon < 0 ? new(line, "") : new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        var parsed = new ReceivedRequest(lines[0], headers, []);
        byte[] body;
        if (parsed.Has("Transfer-Encoding"))
        {
            if (!TryDechunk(data, ref cursor, out body))
                return false;
        }
        else if (parsed.Values("Content-Length") is [var first, ..] && int.TryParse(first, out var length))
        {
            if (data.Length - cursor < length)
                return false;
            body = data[cursor..(cursor + length)];
            cursor += length;
        }
        else
        {
            body = [];
        }
        position = cursor;
        request = parsed with { Body = body };
        return true;
    }

    private static bool TryDechunk(byte[] data, ref int cursor, out byte[] body)
    {
        body = [];
        var result = new MemoryStream();
        var at = cursor;
        while (true)
        {
            var end = Array.IndexOf(data, (byte)'\n', at);
            if (end < 0)
                return false;
            var sizeText = Encoding.Latin1.GetString(data, at, end - at).TrimEnd('\r').Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size))
                return false;
            at = end + 1;
            if (size == 0)
            {
                // Trailers, up to the empty line.
                while (true)
                {
                    var lineEnd = Array.IndexOf(data, (byte)'\n', at);
                    if (lineEnd < 0)
                        return false;
                    var empty = lineEnd == at || (lineEnd == at + 1 && data[at] == '\r');
                    at = lineEnd + 1;
                    if (empty)
                        break;
                }
                cursor = at;
                body = result.ToArray();
                return true;
            }
            if (data.Length - at < size + 2)
                return false;
            result.Write(data, at, size);
            at += size;
            at = Array.IndexOf(data, (byte)'\n', at) + 1;
            if (at == 0)
                return false;
        }
    }
}
