using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Gantry.Node.Epoll;

/// <summary>
/// Kestrel's transport for the proxy listeners under proxy_io = epoll: each listening socket is watched by every
/// <see cref="EpollLoop"/> (EPOLLEXCLUSIVE, so a new connection wakes one of them), and the loop that accepts a
/// connection serves it for its whole life, with the upstream connections its requests open.
/// </summary>
internal sealed class EpollTransportFactory : IConnectionListenerFactory
{
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
            throw new NotSupportedException($"the epoll transport listens on IP addresses only, not {endpoint}");
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            // As Kestrel's own transport does: a restarted node can bind again while old connections linger in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(ip);
            socket.Listen(512);
            socket.Blocking = false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return ValueTask.FromResult<IConnectionListener>(new Listener(socket));
    }

    private sealed class Listener : IConnectionListener
    {
        private readonly Socket _socket;
        private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>();
        // Each loop's watch of the listening socket, by loop index; unallocated while a loop pauses accepting.
        private readonly GCHandle[] _watches;
        private int _unbound;

        public Listener(Socket socket)
        {
            _socket = socket;
            EndPoint = socket.LocalEndPoint!;
            _watches = EpollLoop.All.Select(Watch).ToArray();
        }

        private GCHandle Watch(EpollLoop loop) => loop.Watch((int)_socket.Handle, Native.EPOLLIN | Native.EPOLLEXCLUSIVE, new Acceptor(this, loop));

        public EndPoint EndPoint { get; }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await _accepted.Reader.ReadAsync(cancellationToken);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        /// <summary>Accepts every pending connection; on the loop that was woken, which serves them.</summary>
        private unsafe void Accept(EpollLoop loop)
        {
            while (Volatile.Read(ref _unbound) == 0)
            {
                var fd = Native.accept4((int)_socket.Handle, null, null, Native.SOCK_NONBLOCK | Native.SOCK_CLOEXEC);
                if (fd < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno is Native.ECONNABORTED or Native.EINTR or Native.EPROTO)
                        continue; // one that went away before it was accepted
                    if (errno != Native.EAGAIN)
                        PauseAccepting(loop, errno);
                    return;
                }
                var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
                EpollSocket? served = null;
                try
                {
                    served = EpollSocket.Accepted(socket, loop);
                    var connection = new Connection(served);
                    if (!_accepted.Writer.TryWrite(connection))
                        _ = connection.DisposeAsync();
                }
                catch (SocketException)
                {
                    // Reset before its addresses could be read.
                    if (served is not null)
                        served.Dispose();
                    else
                        socket.Dispose();
                }
            }
        }

        /// <summary>
        /// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the pending connection stays in the
        /// backlog and the listener stays ready, so the loop would spin on it. It stops watching the listener for
        /// half a second instead, as nginx does, and says so.
        /// </summary>
        private void PauseAccepting(EpollLoop loop, int errno)
        {
            var handle = _watches[loop.Index];
            if (!handle.IsAllocated)
                return;
            loop.Forget((int)_socket.Handle, handle);
            _watches[loop.Index] = default;
            EpollLoop.Unhandled?.Invoke(new IOException(
                $"accepting a connection on {EndPoint} failed (errno {errno}, out of file descriptors or memory); this event loop stops accepting for 0.5 s"));
            _ = Task.Delay(500).ContinueWith(_ => loop.Post(() =>
            {
                if (Volatile.Read(ref _unbound) == 0)
                    _watches[loop.Index] = Watch(loop);
            }), TaskScheduler.Default);
        }

        public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _unbound, 1) == 1)
                return;
            var forgotten = EpollLoop.All.Select(loop =>
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                loop.Post(() =>
                {
                    // Read on the loop: a pause may have replaced the handle, or left none.
                    var handle = _watches[loop.Index];
                    if (handle.IsAllocated)
                        loop.Forget((int)_socket.Handle, handle);
                    done.SetResult();
                });
                return done.Task;
            }).ToArray();
            await Task.WhenAll(forgotten);
            _socket.Dispose();
            _accepted.Writer.TryComplete();
        }

        public ValueTask DisposeAsync() => UnbindAsync();

        private sealed class Acceptor(Listener listener, EpollLoop loop) : IEpollTarget
        {
            public void OnEvents(uint events) => listener.Accept(loop);
        }
    }

    /// <summary>What Kestrel sees of one accepted connection.</summary>
    private sealed class Connection : ConnectionContext, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature
    {
        private static long _lastId;
        private readonly EpollSocket _socket;

        public Connection(EpollSocket socket)
        {
            _socket = socket;
            Transport = socket;
            ConnectionId = "e" + Interlocked.Increment(ref _lastId).ToString("x");
            LocalEndPoint = socket.Socket.LocalEndPoint;
            RemoteEndPoint = socket.Socket.RemoteEndPoint;
            Features.Set<IConnectionIdFeature>(this);
            Features.Set<IConnectionTransportFeature>(this);
            Features.Set<IConnectionItemsFeature>(this);
            Features.Set<IConnectionLifetimeFeature>(this);
        }

        public override string ConnectionId { get; set; }

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

        public override System.IO.Pipelines.IDuplexPipe Transport { get; set; }

        public override CancellationToken ConnectionClosed
        {
            get => _socket.Closed;
            set => throw new NotSupportedException();
        }

        public override void Abort(ConnectionAbortedException abortReason) => _socket.Abort(abortReason);

        public override ValueTask DisposeAsync() => _socket.DisposeAsync();
    }
}
