using Microsoft.AspNetCore.Connections;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Gantry.Node.Epoll;

/// <summary>
/// A connected TCP socket served by an <see cref="EpollLoop"/>, as a pair of pipes: what arrives is read into
/// <see cref="Input"/> when epoll says it is there (edge-triggered; a read shorter than the buffer means the
/// socket is drained, so there is no read that only finds nothing), and what is written to <see cref="Output"/>
/// is sent at once by whoever flushed it. Both pipes schedule inline, so a request runs on the loop's thread from
/// the read of its bytes to the send of its answer. Used for a proxy listener's client connections and for the
/// upstream connections the forwarder opens from them.
/// </summary>
internal sealed class EpollSocket : IEpollTarget, IDuplexPipe
{
    private const int ReadSize = 8192;
    private readonly EpollLoop _loop;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly CancellationTokenSource _closed = new();
    private GCHandle _handle;
    private bool _receiving;        // loop thread only
    private bool _inputDone;        // loop thread only
    private bool _hangUp;           // loop thread only: epoll reported the peer's FIN or an error, so read to the end
    private ValueTask<FlushResult> _pendingFlush; // loop thread only
    private TaskCompletionSource? _writable;
    private Task _sending = Task.CompletedTask;
    private int _aborted;
    private Exception? _abortReason;
    private int _disposed;

    private EpollSocket(Socket socket, EpollLoop loop, int inputLimit)
    {
        Socket = socket;
        _loop = loop;
        _input = new Pipe(Options(inputLimit));
        _output = new Pipe(Options(OutputLimit));
    }

    // Kestrel's own transport buffers up to 1 MiB of a client's input and 64 KiB of output before it stops
    // reading, or makes the writer wait. An upstream's response is read no further ahead than what is sent.
    private const int ClientInputLimit = 1024 * 1024;
    private const int OutputLimit = 64 * 1024;

    private static PipeOptions Options(int limit) =>
        new(pool: null, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: limit, resumeWriterThreshold: limit / 2, useSynchronizationContext: false);

    public Socket Socket { get; }

    /// <summary>The loop that serves this socket.</summary>
    public EpollLoop Loop => _loop;

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _output.Writer;

    /// <summary>Cancelled when the peer closed its side or the connection failed or was aborted.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Serves an accepted socket on the calling loop (its listener's).</summary>
    public static EpollSocket Accepted(Socket socket, EpollLoop loop)
    {
        var connection = new EpollSocket(socket, loop, ClientInputLimit);
        connection.Start();
        return connection;
    }

    /// <summary>A socket to connect with <see cref="ConnectAsync"/>, served by <paramref name="loop"/>.</summary>
    public static EpollSocket ForConnect(AddressFamily family, EpollLoop loop) =>
        new(new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, Blocking = false }, loop, OutputLimit);

    /// <summary>Connects without blocking; fails if <see cref="Abort"/> or <see cref="Dispose"/> is called first (a connect timeout).</summary>
    public async ValueTask ConnectAsync(EndPoint endpoint)
    {
        var waiter = ExpectWritable();
        try
        {
            Socket.Connect(endpoint);
            Writable(waiter);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Under way: epoll reports the socket writable, or failed, when it is done.
        }
        // Watched only now: epoll reports a socket that has not started connecting as hung up.
        _handle = _loop.Watch((int)Socket.Handle, Events, this);
        await waiter.Task;
        var error = (SocketError)(int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != SocketError.Success)
            throw new SocketException((int)error);
        _sending = SendLoopAsync();
        _loop.Post(StartReceiving);
    }

    private const uint Events = Native.EPOLLIN | Native.EPOLLOUT | Native.EPOLLRDHUP | Native.EPOLLET;

    private void Start()
    {
        Socket.Blocking = false;
        Socket.NoDelay = true;
        _handle = _loop.Watch((int)Socket.Handle, Events, this);
        _sending = SendLoopAsync();
        _receiving = true;
    }

    private void StartReceiving()
    {
        _receiving = true;
        Receive();
    }

    public void OnEvents(uint events)
    {
        if ((events & (Native.EPOLLOUT | Native.EPOLLERR | Native.EPOLLHUP)) != 0 && Volatile.Read(ref _writable) is { } waiter)
            Writable(waiter);
        if ((events & (Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR)) != 0)
            _hangUp = true;
        if ((events & (Native.EPOLLIN | Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR)) != 0)
            Receive();
    }

    /// <summary>Reads until the socket is drained, the pipe is full (reading resumes when it has room) or the input ends.</summary>
    private void Receive()
    {
        if (!_receiving || _inputDone || !_pendingFlush.IsCompleted)
            return;
        var writer = _input.Writer;
        while (true)
        {
            var memory = writer.GetMemory(ReadSize);
            var count = Socket.Receive(memory.Span, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
                return;
            if (error != SocketError.Success || count == 0)
            {
                EndInput(error == SocketError.Success ? null : new SocketException((int)error));
                return;
            }
            writer.Advance(count);
            var flush = writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                _pendingFlush = flush;
                flush.GetAwaiter().UnsafeOnCompleted(() => _loop.Post(ResumeReceiving));
                return;
            }
            if (flush.Result.IsCompleted)
            {
                EndInput(null);
                return;
            }
            // Drained: a new edge comes with the next bytes. Not when the end came with these bytes, which no edge follows.
            if (count < memory.Length && !_hangUp)
                return;
        }
    }

    private void ResumeReceiving()
    {
        var result = _pendingFlush.Result;
        _pendingFlush = default;
        if (result.IsCompleted)
            EndInput(null);
        else
            Receive();
    }

    private void EndInput(Exception? error)
    {
        if (_inputDone)
            return;
        _inputDone = true;
        if (Volatile.Read(ref _aborted) == 1)
            error = _abortReason;
        _input.Writer.Complete(error);
        _closed.Cancel();
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var rest = segment;
                    while (!rest.IsEmpty)
                    {
                        var sent = Socket.Send(rest.Span, SocketFlags.None, out var error);
                        if (error == SocketError.WouldBlock)
                            await WritableAsync();
                        else if (error != SocketError.Success)
                            throw new SocketException((int)error);
                        rest = rest[sent..];
                    }
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                    break;
            }
            await reader.CompleteAsync();
        }
        catch (Exception e)
        {
            await reader.CompleteAsync(Volatile.Read(ref _aborted) == 1 ? _abortReason : e);
        }
    }

    private TaskCompletionSource ExpectWritable()
    {
        var waiter = new TaskCompletionSource();
        Volatile.Write(ref _writable, waiter);
        return waiter;
    }

    private void Writable(TaskCompletionSource waiter)
    {
        if (Interlocked.CompareExchange(ref _writable, null, waiter) == waiter)
            waiter.TrySetResult();
    }

    /// <summary>Waits for room in the send buffer; the edge may have come between the failed send and here, so the socket is asked once.</summary>
    private Task WritableAsync()
    {
        if (Volatile.Read(ref _aborted) == 1)
            throw _abortReason!;
        var waiter = ExpectWritable();
        if (Socket.Poll(0, SelectMode.SelectWrite))
            Writable(waiter);
        return waiter.Task;
    }

    /// <summary>
    /// Fails what is pending on the connection with <paramref name="reason"/> and stops it; from any thread, any
    /// number of times (the first reason stays).
    /// </summary>
    public void Abort(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _abortReason, reason, null) is not null)
            return;
        Volatile.Write(ref _aborted, 1);
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected yet, or gone already.
        }
        Interlocked.Exchange(ref _writable, null)?.TrySetException(reason);
        try
        {
            _output.Reader.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The send loop is done with it already.
        }
        _loop.Post(() => EndInput(null));
    }

    /// <summary>After the pipes are done with: lets what was written go out, then closes the socket on its loop.</summary>
    public async ValueTask DisposeAsync()
    {
        await _output.Writer.CompleteAsync();
        await _input.Reader.CompleteAsync();
        await _sending;
        Dispose();
    }

    /// <summary>Aborts (what is pending fails as on a disposed runtime socket) and closes the socket; from any thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Abort(new ObjectDisposedException(nameof(EpollSocket), "the connection was closed"));
        _loop.Post(() =>
        {
            EndInput(null);
            if (_handle.IsAllocated)
                _loop.Forget((int)Socket.Handle, _handle);
            Socket.Dispose();
        });
    }
}
