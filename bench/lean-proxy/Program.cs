// A floor, not a product: the least a Kestrel-hosted HTTP/1.1 proxy does per request (a pooled upstream
// connection, the client's headers written upstream, the upstream's head parsed and its body copied), on
// 127.0.0.1:18084 in front of the anchor upstream on 18080. bench/proxy.py measures it beside Gantry
// (target "lean"), so the gap between the two is Gantry's own cost and the gap to nginx is the runtime's.
// No error handling, no chunked bodies, no timeouts.
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
var pool = new ConcurrentBag<Conn>();
var target = new IPEndPoint(IPAddress.Loopback, 18080);
app.Run(async http =>
{
    if (!pool.TryTake(out var c))
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(target);
        var ns = new NetworkStream(s, true);
        c = new Conn(PipeReader.Create(ns), PipeWriter.Create(ns));
    }
    var req = http.Request;
    var sb = new StringBuilder();
    sb.Append(req.Method).Append(' ').Append(req.Path.Value).Append(req.QueryString.Value).Append(" HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n");
    foreach (var h in req.Headers)
    {
        if (h.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Connection", StringComparison.OrdinalIgnoreCase)) continue;
        foreach (var v in h.Value) sb.Append(h.Key).Append(": ").Append(v).Append("\r\n");
    }
    sb.Append("X-Forwarded-For: ").Append(http.Connection.RemoteIpAddress).Append("\r\n\r\n");
    var bytes = Encoding.ASCII.GetBytes(sb.ToString());
    await c.W.WriteAsync(bytes);
    // read head
    long contentLength = 0;
    while (true)
    {
        var r = await c.R.ReadAsync();
        var buf = r.Buffer;
        var seqr = new SequenceReader<byte>(buf);
        if (!seqr.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8)) { c.R.AdvanceTo(buf.Start, buf.End); continue; }
        var text = Encoding.ASCII.GetString(head);
        var lines = text.Split("\r\n");
        http.Response.StatusCode = int.Parse(lines[0].AsSpan(9, 3));
        for (int i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            var name = lines[i][..colon]; var value = lines[i][(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) contentLength = long.Parse(value);
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)) continue;
            http.Response.Headers.Append(name, value);
        }
        c.R.AdvanceTo(seqr.Position);
        break;
    }
    while (contentLength > 0)
    {
        var r = await c.R.ReadAsync();
        var take = r.Buffer.Slice(0, Math.Min(contentLength, r.Buffer.Length));
        foreach (var seg in take) await http.Response.Body.WriteAsync(seg);
        contentLength -= take.Length;
        c.R.AdvanceTo(take.End);
    }
    pool.Add(c);
});
app.Run(args.Length > 0 ? args[0] : "http://127.0.0.1:18084");
record Conn(PipeReader R, PipeWriter W);
