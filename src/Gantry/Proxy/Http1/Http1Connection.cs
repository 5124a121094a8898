using System.IO.Pipelines;
using System.Net.Sockets;
using Gantry.Node.Epoll;

namespace Gantry.Proxy.Http1;

/// <summary>Which deadline aborted a connection.</summary>
internal enum ConnectionExpiry
{
    None,
    Connect,
    Write,
    Read,
    /// <summary>The client of the request it carried went away.</summary>
    ClientGone,
    /// <summary>It sat in the pool longer than upstream_keepalive_idle_timeout.</summary>
    Idle,
}

/// <summary>
/// One TCP connection to an upstream, read and written through pipelines, with the deadlines the shared
/// <see cref="DeadlineTicker"/> enforces by aborting its socket (a pending read or write then fails, and the
/// forwarder asks <see cref="Expiry"/> why). Under proxy_io = epoll the socket is an <see cref="EpollSocket"/> on
/// the event loop of the request that opened it; otherwise a runtime socket behind a stream.
/// </summary>
internal sealed class Http1Connection : IDisposable
{
    private readonly Socket _socket;
    private readonly EpollSocket? _epoll;
    private readonly DeadlineTicker _ticker;
    private NetworkStream? _stream;
    private long _connectDeadline;
    private long _writeDeadline;
    private long _readDeadline;
    private long _idleDeadline;
    private CancellationToken _clientAborted;
    private int _expiry;
    private int _disposed;
    private ValueTask<ReadResult>? _idleRead;

    /// <param name="loop">Under proxy_io = epoll, the event loop that serves the connection; null for the runtime's sockets.</param>
    public Http1Connection(AddressFamily family, DeadlineTicker ticker, EpollLoop? loop)
    {
        if (loop is not null)
        {
            _epoll = EpollSocket.ForConnect(family, loop);
            _socket = _epoll.Socket;
        }
        else
        {
            _socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }
        _ticker = ticker;
        ticker.Watch(this);
    }

    /// <summary>Under proxy_io = epoll, the index of the loop that serves the connection; 0 otherwise.</summary>
    public int Loop => _epoll?.Loop.Index ?? 0;

    public PipeReader Reader { get; private set; } = null!;

    public PipeWriter Writer { get; private set; } = null!;

    /// <summary>Requests sent on this connection so far.</summary>
    public int Requests { get; set; }

    public ConnectionExpiry Expiry => (ConnectionExpiry)Volatile.Read(ref _expiry);

    public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    public async ValueTask ConnectAsync(System.Net.EndPoint endpoint, int timeoutMs)
    {
        Volatile.Write(ref _connectDeadline, DeadlineTicker.Now + timeoutMs);
        try
        {
            if (_epoll is not null)
                await _epoll.ConnectAsync(endpoint);
            else
                await _socket.ConnectAsync(endpoint);
        }
        finally
        {
            Volatile.Write(ref _connectDeadline, 0);
        }
        if (_epoll is not null)
        {
            Reader = _epoll.Input;
            Writer = _epoll.Output;
            return;
        }
        _stream = new NetworkStream(_socket, ownsSocket: false);
        // 16 KiB reads take most response heads and bodies in one go; the pipe's 4 KiB default took several.
        Reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 16384, minimumReadSize: 4096, leaveOpen: true));
        Writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    /// <summary>Ties the connection to a request: it is aborted when that request's client goes away.</summary>
    public void Begin(CancellationToken clientAborted)
    {
        Volatile.Write(ref _idleDeadline, 0);
        _clientAborted = clientAborted;
        Requests++;
    }

    /// <summary>Unties it from its request, before it goes back to the pool.</summary>
    public void End(TimeSpan idleTimeout)
    {
        _clientAborted = default;
        Volatile.Write(ref _readDeadline, 0);
        Volatile.Write(ref _writeDeadline, 0);
        if (idleTimeout > TimeSpan.Zero)
            Volatile.Write(ref _idleDeadline, DeadlineTicker.Now + (long)idleTimeout.TotalMilliseconds);
    }

    /// <summary>Whether the idle timeout will close this pooled connection within <paramref name="marginMs"/>: too close to start a request on it.</summary>
    public bool IdleEndsWithin(long marginMs)
    {
        var deadline = Volatile.Read(ref _idleDeadline);
        return deadline != 0 && deadline - DeadlineTicker.Now < marginMs;
    }

    public void ArmRead(int timeoutMs) => Volatile.Write(ref _readDeadline, DeadlineTicker.Now + timeoutMs);

    public void DisarmRead() => Volatile.Write(ref _readDeadline, 0);

    /// <summary>Sends what was written to <see cref="Writer"/>, within write_timeout.</summary>
    public async ValueTask FlushAsync(int writeTimeoutMs, CancellationToken cancellation = default)
    {
        Volatile.Write(ref _writeDeadline, DeadlineTicker.Now + writeTimeoutMs);
        await Writer.FlushAsync(cancellation);
        Volatile.Write(ref _writeDeadline, 0);
    }

    /// <summary>
    /// Starts watching a connection put back in the pool: a read is left pending on it, as nginx keeps an idle
    /// upstream connection in its event loop. If it completes while the connection waits, the upstream closed
    /// it or sent something unasked, and either way it cannot carry a request (<see cref="IsReusable"/>); if
    /// not, the next request's response arrives through it (<see cref="ReadAsync"/>). This costs no system call
    /// on the request path, where asking the socket (a poll) would cost one per request.
    /// </summary>
    public void WatchIdle() => _idleRead = Reader.ReadAsync();

    /// <summary>Whether the connection can carry a request: open, and nothing came on it while it was idle.</summary>
    public bool IsReusable() => !IsDisposed && _idleRead is not { IsCompleted: true };

    /// <summary>Reads from the upstream: first the read left pending while the connection was idle, if any.</summary>
    public ValueTask<ReadResult> ReadAsync()
    {
        if (_idleRead is { } pending)
        {
            _idleRead = null;
            return pending;
        }
        return Reader.ReadAsync();
    }

    /// <summary>Called by the ticker: aborts the connection if any deadline is past or its client is gone.</summary>
    public void CheckDeadlines(long now)
    {
        var expiry = ConnectionExpiry.None;
        if (Expired(ref _connectDeadline, now))
            expiry = ConnectionExpiry.Connect;
        else if (Expired(ref _writeDeadline, now))
            expiry = ConnectionExpiry.Write;
        else if (Expired(ref _readDeadline, now))
            expiry = ConnectionExpiry.Read;
        else if (Expired(ref _idleDeadline, now))
            expiry = ConnectionExpiry.Idle;
        else if (_clientAborted.IsCancellationRequested)
            expiry = ConnectionExpiry.ClientGone;
        if (expiry == ConnectionExpiry.None)
            return;
        Interlocked.CompareExchange(ref _expiry, (int)expiry, 0);
        Dispose();
    }

    private static bool Expired(ref long deadline, long now)
    {
        var value = Volatile.Read(ref deadline);
        return value != 0 && now >= value;
    }

    /// <summary>Closes the socket at once; a read or write in progress fails. Safe from any thread, any number of times.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _ticker.Forget(this);
        if (_epoll is not null)
        {
            _epoll.Dispose();
            return;
        }
        _socket.Dispose();
        _stream?.Dispose();
    }
}
