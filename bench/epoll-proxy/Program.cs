// A floor, not a product: the least a C# HTTP/1.1 proxy does per request when it owns its sockets, with no
// Kestrel and no runtime socket engine. One epoll loop per core, each with its own SO_REUSEPORT listener
// and its own pool of upstream connections; nonblocking recv and send called directly, a read only after
// epoll reports readiness (edge-triggered, and a short read counts as drained, as nginx does). Listens on
// 127.0.0.1:18085 in front of the anchor upstream on 18080. bench/proxy.py measures it (target "epoll"), so
// the gap between it and nginx is what C# on .NET costs at all, and the gap between it and "lean" is what
// Kestrel and the runtime's socket engine cost. Only what the benchmark needs: requests without a body,
// Content-Length responses, one resend when a pooled connection turns out closed, no timeouts.
using System.Runtime.InteropServices;
using System.Text;

var port = args.Length > 0 ? int.Parse(args[0]) : 18085;
var loops = Environment.ProcessorCount;
var threads = new Thread[loops];
for (var i = 0; i < loops; i++)
{
    var loop = new Loop(port);
    threads[i] = new Thread(loop.Run) { IsBackground = false, Name = $"epoll loop {i}" };
    threads[i].Start();
}
foreach (var thread in threads)
    thread.Join();

sealed class Conn(int fd, bool upstream)
{
    public readonly int Fd = fd;
    public readonly bool IsUpstream = upstream;
    public readonly byte[] In = new byte[16384];
    public int InLength;
    public Conn? Peer;          // client: its upstream while a request is in flight; upstream: its client
    public byte[]? Head;        // upstream: the request head it carries, kept for one resend
    public bool Reused;         // upstream: taken from the pool for this request
    public bool HeadDone;       // upstream: the response head was passed on
    public long Remaining;      // upstream: body bytes still to pass on
    public byte[]? Pending;     // bytes a send could not take yet
    public int PendingOffset;
    public bool Closed;
}

sealed unsafe class Loop
{
    readonly int _epoll;
    readonly int _listener;
    readonly Conn?[] _byFd = new Conn?[1 << 16];
    readonly Stack<Conn> _idle = new();
    readonly byte[] _out = new byte[32768];
    static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    public Loop(int port)
    {
        _epoll = Sys.Check(Sys.epoll_create1(Sys.EPOLL_CLOEXEC), "epoll_create1");
        _listener = Sys.Check(Sys.socket(Sys.AF_INET, Sys.SOCK_STREAM | Sys.SOCK_NONBLOCK | Sys.SOCK_CLOEXEC, 0), "socket");
        var one = 1;
        Sys.Check(Sys.setsockopt(_listener, Sys.SOL_SOCKET, Sys.SO_REUSEADDR, &one, 4), "SO_REUSEADDR");
        Sys.Check(Sys.setsockopt(_listener, Sys.SOL_SOCKET, Sys.SO_REUSEPORT, &one, 4), "SO_REUSEPORT");
        var address = Sys.Loopback(port);
        Sys.Check(Sys.bind(_listener, &address, 16), "bind");
        Sys.Check(Sys.listen(_listener, 4096), "listen");
        Watch(_listener, Sys.EPOLLIN, Sys.EPOLL_CTL_ADD);
    }

    void Watch(int fd, uint events, int op)
    {
        var e = new Sys.EpollEvent { Events = events, Data = (ulong)fd };
        Sys.Check(Sys.epoll_ctl(_epoll, op, fd, &e), "epoll_ctl");
    }

    public void Run()
    {
        var events = stackalloc Sys.EpollEvent[256];
        while (true)
        {
            var n = Sys.epoll_wait(_epoll, events, 256, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Sys.EINTR) continue;
                throw new IOException("epoll_wait failed");
            }
            for (var i = 0; i < n; i++)
            {
                var fd = (int)events[i].Data;
                var flags = events[i].Events;
                if (fd == _listener) { Accept(); continue; }
                var conn = _byFd[fd];
                if (conn is null || conn.Closed) continue;
                if ((flags & Sys.EPOLLOUT) != 0 && conn.Pending is not null) Flush(conn);
                if ((flags & (Sys.EPOLLIN | Sys.EPOLLHUP | Sys.EPOLLERR | Sys.EPOLLRDHUP)) != 0)
                {
                    if (conn.IsUpstream) OnUpstream(conn); else OnClient(conn);
                }
            }
        }
    }

    void Accept()
    {
        while (true)
        {
            var fd = Sys.accept4(_listener, null, null, Sys.SOCK_NONBLOCK | Sys.SOCK_CLOEXEC);
            if (fd < 0) return; // EAGAIN, or an aborted connection
            var one = 1;
            Sys.setsockopt(fd, Sys.IPPROTO_TCP, Sys.TCP_NODELAY, &one, 4);
            _byFd[fd] = new Conn(fd, upstream: false);
            Watch(fd, Sys.EPOLLIN | Sys.EPOLLRDHUP | Sys.EPOLLET, Sys.EPOLL_CTL_ADD);
        }
    }

    // Reads what is there; false when the peer closed or failed. A read shorter than the space means drained.
    static bool Read(Conn conn)
    {
        while (true)
        {
            var space = conn.In.Length - conn.InLength;
            if (space == 0) return true; // a full buffer waits for the request or response in it to move on
            long n;
            fixed (byte* p = &conn.In[conn.InLength]) n = Sys.recv(conn.Fd, p, space, 0);
            if (n > 0)
            {
                conn.InLength += (int)n;
                if (n < space) return true;
                continue;
            }
            if (n == 0) return false;
            return Marshal.GetLastPInvokeError() == Sys.EAGAIN;
        }
    }

    void OnClient(Conn client)
    {
        if (!Read(client)) { Close(client); return; }
        StartRequest(client);
    }

    void StartRequest(Conn client)
    {
        if (client.Peer is not null) return; // one request at a time; a pipelined one waits in the buffer
        var end = client.In.AsSpan(0, client.InLength).IndexOf(HeaderEnd);
        if (end < 0)
        {
            if (client.InLength == client.In.Length) Close(client); // a head larger than the buffer
            return;
        }
        var head = UpstreamHead(client.In.AsSpan(0, end + 2));
        Consume(client, end + 4);
        Send(client, head, fromPool: true);
    }

    // The request line and the client's fields, with Host set to the upstream, Connection dropped and X-Forwarded-For added.
    static byte[] UpstreamHead(ReadOnlySpan<byte> head)
    {
        var text = Encoding.ASCII.GetString(head);
        var lines = text.Split("\r\n");
        var builder = new StringBuilder(text.Length + 64);
        var target = lines[0];
        builder.Append(target.AsSpan(0, target.LastIndexOf(' '))).Append(" HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n");
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0 || line.StartsWith("Host:", StringComparison.OrdinalIgnoreCase) ||
                line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))
                continue;
            builder.Append(line).Append("\r\n");
        }
        builder.Append("X-Forwarded-For: 127.0.0.1\r\n\r\n");
        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    void Send(Conn client, byte[] head, bool fromPool)
    {
        Conn? upstream = null;
        if (fromPool)
            while (_idle.TryPop(out var idle))
                if (!idle.Closed) { upstream = idle; break; }
        var wasPooled = upstream is not null;
        upstream ??= Connect();
        if (upstream is null) { Respond502(client); return; }
        upstream.Peer = client;
        upstream.Head = head;
        upstream.Reused = wasPooled;
        upstream.HeadDone = false;
        upstream.Remaining = 0;
        client.Peer = upstream;
        Write(upstream, head, 0, head.Length);
    }

    Conn? Connect()
    {
        var fd = Sys.socket(Sys.AF_INET, Sys.SOCK_STREAM | Sys.SOCK_CLOEXEC, 0);
        if (fd < 0) return null;
        var address = Sys.Loopback(18080);
        if (Sys.connect(fd, &address, 16) < 0) { Sys.close(fd); return null; }
        Sys.fcntl(fd, Sys.F_SETFL, Sys.fcntl(fd, Sys.F_GETFL, 0) | Sys.O_NONBLOCK);
        var one = 1;
        Sys.setsockopt(fd, Sys.IPPROTO_TCP, Sys.TCP_NODELAY, &one, 4);
        var conn = new Conn(fd, upstream: true);
        _byFd[fd] = conn;
        Watch(fd, Sys.EPOLLIN | Sys.EPOLLRDHUP | Sys.EPOLLET, Sys.EPOLL_CTL_ADD);
        return conn;
    }

    void OnUpstream(Conn upstream)
    {
        var open = Read(upstream);
        var client = upstream.Peer;
        if (client is null)
        {
            // Idle in the pool: the upstream closed it, or sent something it should not have.
            Close(upstream);
            return;
        }
        if (!upstream.HeadDone)
        {
            var end = upstream.In.AsSpan(0, upstream.InLength).IndexOf(HeaderEnd);
            if (end < 0)
            {
                if (open) return;
                // Closed before a whole head: resend once on a new connection if it came from the pool.
                var (head, reused) = (upstream.Head!, upstream.Reused);
                upstream.Peer = null;
                client.Peer = null;
                Close(upstream);
                if (reused && upstream.InLength == 0) Send(client, head, fromPool: false); else Respond502(client);
                return;
            }
            var length = CopyResponseHead(upstream.In.AsSpan(0, end + 2), out var remaining);
            Consume(upstream, end + 4);
            upstream.HeadDone = true;
            upstream.Remaining = remaining;
            var body = (int)Math.Min(remaining, upstream.InLength);
            upstream.In.AsSpan(0, body).CopyTo(_out.AsSpan(length));
            Consume(upstream, body);
            upstream.Remaining -= body;
            Write(client, _out, 0, length + body);
        }
        else if (upstream.InLength > 0)
        {
            var body = (int)Math.Min(upstream.Remaining, upstream.InLength);
            Write(client, upstream.In, 0, body);
            Consume(upstream, body);
            upstream.Remaining -= body;
        }
        if (upstream.Remaining == 0)
        {
            upstream.Peer = null;
            client.Peer = null;
            if (open && upstream.InLength == 0) _idle.Push(upstream); else Close(upstream);
            if (!client.Closed) StartRequest(client);
        }
        else if (!open)
        {
            Close(upstream);
            Close(client);
        }
    }

    // The upstream's status line and fields into _out, without Connection and Keep-Alive; its Content-Length.
    int CopyResponseHead(ReadOnlySpan<byte> head, out long contentLength)
    {
        contentLength = 0;
        var length = 0;
        while (head.Length > 0)
        {
            var eol = head.IndexOf("\r\n"u8);
            var line = head[..(eol + 2)];
            head = head[(eol + 2)..];
            if (StartsWith(line, "connection:"u8) || StartsWith(line, "keep-alive:"u8)) continue;
            if (StartsWith(line, "content-length:"u8))
                contentLength = long.Parse(Encoding.ASCII.GetString(line[15..]).Trim());
            line.CopyTo(_out.AsSpan(length));
            length += line.Length;
        }
        "\r\n"u8.CopyTo(_out.AsSpan(length));
        return length + 2;
    }

    static bool StartsWith(ReadOnlySpan<byte> line, ReadOnlySpan<byte> lowerName)
    {
        if (line.Length < lowerName.Length) return false;
        for (var i = 0; i < lowerName.Length; i++)
            if ((line[i] | 0x20) != lowerName[i]) return false;
        return true;
    }

    static void Consume(Conn conn, int count)
    {
        conn.InLength -= count;
        if (conn.InLength > 0) Buffer.BlockCopy(conn.In, count, conn.In, 0, conn.InLength);
    }

    void Respond502(Conn client)
    {
        var answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"u8.ToArray();
        Write(client, answer, 0, answer.Length);
        StartRequest(client);
    }

    // Sends now what the socket takes; the rest waits for EPOLLOUT.
    void Write(Conn conn, byte[] bytes, int offset, int count)
    {
        if (conn.Pending is not null)
        {
            var joined = new byte[conn.Pending.Length - conn.PendingOffset + count];
            conn.Pending.AsSpan(conn.PendingOffset).CopyTo(joined);
            bytes.AsSpan(offset, count).CopyTo(joined.AsSpan(conn.Pending.Length - conn.PendingOffset));
            conn.Pending = joined;
            conn.PendingOffset = 0;
            return;
        }
        while (count > 0)
        {
            long n;
            fixed (byte* p = &bytes[offset]) n = Sys.send(conn.Fd, p, count, Sys.MSG_NOSIGNAL);
            if (n > 0) { offset += (int)n; count -= (int)n; continue; }
            if (n < 0 && Marshal.GetLastPInvokeError() == Sys.EAGAIN)
            {
                conn.Pending = bytes.AsSpan(offset, count).ToArray();
                conn.PendingOffset = 0;
                Watch(conn.Fd, Sys.EPOLLIN | Sys.EPOLLOUT | Sys.EPOLLRDHUP | Sys.EPOLLET, Sys.EPOLL_CTL_MOD);
                return;
            }
            Close(conn);
            return;
        }
    }

    void Flush(Conn conn)
    {
        var pending = conn.Pending!;
        conn.Pending = null;
        Watch(conn.Fd, Sys.EPOLLIN | Sys.EPOLLRDHUP | Sys.EPOLLET, Sys.EPOLL_CTL_MOD);
        Write(conn, pending, conn.PendingOffset, pending.Length - conn.PendingOffset);
    }

    void Close(Conn conn)
    {
        if (conn.Closed) return;
        conn.Closed = true;
        _byFd[conn.Fd] = null;
        Sys.close(conn.Fd);
        var peer = conn.Peer;
        conn.Peer = null;
        if (peer is not null)
        {
            peer.Peer = null;
            Close(peer); // a client gone mid-response takes its upstream connection with it, and the other way round
        }
    }
}

static unsafe class Sys
{
    public const int AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000, EPOLL_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_REUSEPORT = 15, IPPROTO_TCP = 6, TCP_NODELAY = 1;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_MOD = 3, EAGAIN = 11, EINTR = 4, F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0x800, MSG_NOSIGNAL = 0x4000;
    public const uint EPOLLIN = 1, EPOLLOUT = 4, EPOLLERR = 8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000, EPOLLET = 1u << 31;

    [StructLayout(LayoutKind.Sequential, Pack = 1)] // packed on x86_64
    public struct EpollEvent { public uint Events; public ulong Data; }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrIn { public ushort Family; public ushort Port; public uint Address; public ulong Zero; }

    public static SockAddrIn Loopback(int port) => new()
    {
        Family = AF_INET,
        Port = (ushort)((port >> 8) | ((port & 0xff) << 8)),
        Address = 0x0100007f,
    };

    public static int Check(int result, string call) =>
        result >= 0 ? result : throw new IOException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");

    [DllImport("libc", SetLastError = true)] public static extern int epoll_create1(int flags);
    [DllImport("libc", SetLastError = true)] public static extern int epoll_ctl(int epfd, int op, int fd, EpollEvent* e);
    [DllImport("libc", SetLastError = true)] public static extern int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);
    [DllImport("libc", SetLastError = true)] public static extern int socket(int domain, int type, int protocol);
    [DllImport("libc", SetLastError = true)] public static extern int setsockopt(int fd, int level, int name, void* value, int length);
    [DllImport("libc", SetLastError = true)] public static extern int bind(int fd, SockAddrIn* address, int length);
    [DllImport("libc", SetLastError = true)] public static extern int listen(int fd, int backlog);
    [DllImport("libc", SetLastError = true)] public static extern int accept4(int fd, void* address, void* length, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int connect(int fd, SockAddrIn* address, int length);
    [DllImport("libc", SetLastError = true)] public static extern long recv(int fd, byte* buffer, long length, int flags);
    [DllImport("libc", SetLastError = true)] public static extern long send(int fd, byte* buffer, long length, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int fcntl(int fd, int command, int argument);
    [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
}
