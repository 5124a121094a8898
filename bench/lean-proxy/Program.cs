// A floor, not a product: the least a Kestrel-hosted HTTP/1.1 proxy does per request (a pooled upstream
// connection, the client's headers written upstream, the upstream's head parsed and its body copied), on
// 127.0.0.1:18084 in front of the anchor upstream on 18080. bench/proxy.py measures it beside Gantry
// (target "lean"), so the gap between the two is Gantry's own cost and the gap to nginx is the runtime's.
// Only what the benchmark needs: Content-Length bodies, no timeouts, and one resend when a pooled
// connection turns out closed (the upstream drops idle keep-alive connections between rounds).
using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
// With inline socket completions, Kestrel's own hops to the thread pool go too: every request runs on the socket thread, as in nginx.
var inline = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";
builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = inline);
var app = builder.Build();
var pool = new ConcurrentBag<Upstream>();
var target = new IPEndPoint(IPAddress.Loopback, 18080);

app.Run(async http =>
{
    var head = RequestHead(http);
    for (var attempt = 0; ; attempt++)
    {
        // The resend goes on a new connection: the other pooled ones may be as stale as the first.
        Upstream? upstream = null;
        var reused = attempt == 0 && pool.TryTake(out upstream);
        upstream ??= await Upstream.ConnectAsync(target);
        await upstream.Writer.WriteAsync(head);
        if (await ForwardResponseAsync(http, upstream))
        {
            pool.Add(upstream);
            return;
        }
        upstream.Dispose();
        if (!reused || attempt > 0)
        {
            http.Response.StatusCode = 502;
            return;
        }
    }
});
app.Run(args.Length > 0 ? args[0] : "http://127.0.0.1:18084");

static byte[] RequestHead(HttpContext http)
{
    var request = http.Request;
    var head = new StringBuilder();
    head.Append(request.Method).Append(' ').Append(request.Path.Value).Append(request.QueryString.Value).Append(" HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n");
    foreach (var (name, values) in request.Headers)
    {
        if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            continue;
        foreach (var value in values)
            head.Append(name).Append(": ").Append(value).Append("\r\n");
    }
    head.Append("X-Forwarded-For: ").Append(http.Connection.RemoteIpAddress).Append("\r\n\r\n");
    return Encoding.ASCII.GetBytes(head.ToString());
}

// False when the connection closed before a whole head came: nothing was sent to the client.
static async Task<bool> ForwardResponseAsync(HttpContext http, Upstream upstream)
{
    long length = 0;
    while (true)
    {
        var read = await upstream.Reader.ReadAsync();
        var buffer = read.Buffer;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8))
        {
            if (read.IsCompleted)
                return false;
            upstream.Reader.AdvanceTo(buffer.Start, buffer.End);
            continue;
        }
        var lines = Encoding.ASCII.GetString(head).Split("\r\n");
        http.Response.StatusCode = int.Parse(lines[0].AsSpan(9, 3));
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            var (name, value) = (line[..colon], line[(colon + 1)..].Trim());
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                length = long.Parse(value);
            if (!name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
                http.Response.Headers.Append(name, value);
        }
        upstream.Reader.AdvanceTo(reader.Position);
        break;
    }
    while (length > 0)
    {
        var read = await upstream.Reader.ReadAsync();
        var part = read.Buffer.Slice(0, Math.Min(length, read.Buffer.Length));
        foreach (var segment in part)
            await http.Response.Body.WriteAsync(segment);
        length -= part.Length;
        upstream.Reader.AdvanceTo(part.End);
        if (length > 0 && read.IsCompleted)
            throw new IOException("the upstream closed the connection inside a body");
    }
    return true;
}

sealed record Upstream(Socket Socket, PipeReader Reader, PipeWriter Writer) : IDisposable
{
    public static async Task<Upstream> ConnectAsync(IPEndPoint target)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(target);
        var stream = new NetworkStream(socket, ownsSocket: true);
        return new Upstream(socket, PipeReader.Create(stream), PipeWriter.Create(stream));
    }

    public void Dispose() => Socket.Dispose();
}
