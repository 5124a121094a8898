using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Gantry.Node;

/// <summary>
/// Kestrel's socket transport, with a way to close some listeners while the others keep accepting. Kestrel
/// only unbinds all of its endpoints at once, as it stops; a draining node closes the proxy and Admin API
/// listeners first, so that new connections are refused, and keeps the Status API answering /status/ready
/// with 503 until it exits.
/// </summary>
/// <param name="inlineSockets">The transport for the listeners on <paramref name="inlinePorts"/> (proxy_inline_io), when set.</param>
internal sealed class ClosableListenerFactory(IConnectionListenerFactory sockets, IConnectionListenerFactory? inlineSockets = null, IReadOnlySet<int>? inlinePorts = null)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly ConcurrentBag<ClosableListener> _listeners = [];

    public bool CanBind(EndPoint endpoint) => sockets is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transport = inlineSockets is not null && endpoint is IPEndPoint ip && inlinePorts!.Contains(ip.Port) ? inlineSockets : sockets;
        var listener = new ClosableListener(await transport.BindAsync(endpoint, cancellationToken));
        _listeners.Add(listener);
        return listener;
    }

    /// <summary>Closes the listening sockets of every listener whose port is not in <paramref name="keepPorts"/>: connecting to them is refused from now on.</summary>
    public async Task CloseAllExceptAsync(IReadOnlySet<int> keepPorts)
    {
        foreach (var listener in _listeners)
        {
            if (listener.EndPoint is not IPEndPoint ip || !keepPorts.Contains(ip.Port))
                await listener.UnbindAsync();
        }
    }

    /// <summary>
    /// Unbinding ends Kestrel's accept loop for the endpoint (the pending accept returns null), the same way
    /// as when Kestrel stops; when it then stops for good, the second unbind finds nothing left to close.
    /// </summary>
    private sealed class ClosableListener(IConnectionListener inner) : IConnectionListener
    {
        private int _unbound;

        public EndPoint EndPoint => inner.EndPoint;

        public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) => inner.AcceptAsync(cancellationToken);

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) =>
            Interlocked.Exchange(ref _unbound, 1) == 0 ? inner.UnbindAsync(cancellationToken) : ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
