using System.Net;
using System.Net.Sockets;
using Gantry.Node.Epoll;

namespace Gantry.Proxy.Http1;

/// <summary>
/// The idle keep-alive connections to one destination (host and port), most recently used first so that
/// the ones left over after a burst age out (upstream_keepalive_idle_timeout) instead of staying warm. Under
/// proxy_io = epoll each event loop has its own idle connections, as each nginx worker has its own keepalive
/// pool (upstream_keepalive_pool_size is per loop): a request takes one of its own loop, so its client and
/// upstream sockets are served by the same thread.
/// </summary>
internal sealed class Http1ConnectionPool(string host, int port, UpstreamKeepalive keepalive, DeadlineTicker ticker, bool epoll)
{
    private readonly Stack<Http1Connection>[] _idle =
        Enumerable.Range(0, epoll ? EpollLoop.All.Length : 1).Select(_ => new Stack<Http1Connection>()).ToArray();
    private readonly IPAddress? _address = IPAddress.TryParse(host.Trim('[', ']'), out var address) ? address : null;

    /// <summary>An idle connection that can still carry a request, else a new one.</summary>
    public ValueTask<Http1Connection> RentAsync(int connectTimeoutMs)
    {
        // The loop whose idle connections are taken is the one a new connection joins, so that it comes back to them.
        var loop = epoll ? EpollLoop.Pick() : null;
        var idle = _idle[loop?.Index ?? 0];
        while (true)
        {
            Http1Connection? connection;
            lock (idle)
                idle.TryPop(out connection);
            if (connection is null)
                return ConnectAsync(loop, connectTimeoutMs);
            // One about to time out could be closed by the ticker between here and its first write.
            if (!connection.IdleEndsWithin(2 * DeadlineTicker.TickMs) && connection.IsReusable())
                return ValueTask.FromResult(connection);
            connection.Dispose();
        }
    }

    /// <summary>Keeps a connection whose last exchange ended cleanly for the next request, within the pool's limits.</summary>
    public void Return(Http1Connection connection)
    {
        if (keepalive.MaxRequests > 0 && connection.Requests >= keepalive.MaxRequests)
        {
            connection.Dispose();
            return;
        }
        connection.End(keepalive.IdleTimeout);
        connection.WatchIdle();
        var idle = _idle[connection.Loop];
        lock (idle)
        {
            if (idle.Count >= keepalive.PoolSize)
                DropClosed(idle);
            if (idle.Count < keepalive.PoolSize)
            {
                idle.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    /// <summary>Takes out the connections the ticker closed while they waited (idle timeout).</summary>
    private static void DropClosed(Stack<Http1Connection> idle)
    {
        var open = idle.Where(c => !c.IsDisposed).Reverse().ToArray();
        idle.Clear();
        foreach (var connection in open)
            idle.Push(connection);
    }

    private async ValueTask<Http1Connection> ConnectAsync(EpollLoop? loop, int connectTimeoutMs)
    {
        EndPoint endpoint;
        if (_address is not null)
        {
            endpoint = new IPEndPoint(_address, port);
        }
        else
        {
            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host);
            }
            catch (SocketException e)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{host} could not be resolved ({e.Message})", e);
            }
            if (addresses.Length == 0)
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{host} could not be resolved (no address)");
            endpoint = new IPEndPoint(addresses[0], port);
        }
        var connection = new Http1Connection(endpoint.AddressFamily, ticker, loop);
        try
        {
            await connection.ConnectAsync(endpoint, connectTimeoutMs);
            return connection;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connection.Dispose();
            if (connection.Expiry == ConnectionExpiry.Connect)
                throw new TaskCanceledException($"connecting to {host}:{port} timed out after {connectTimeoutMs} ms (connect_timeout)",
                    new TimeoutException($"connect_timeout of {connectTimeoutMs} ms elapsed connecting to {host}:{port}"));
            if (connection.Expiry == ConnectionExpiry.ClientGone)
                throw new OperationCanceledException("the client went away while connecting to the upstream");
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"{e.Message} ({host}:{port})", e);
        }
    }

    /// <summary>Closes every idle connection (the node stops).</summary>
    public void Clear()
    {
        foreach (var idle in _idle)
        {
            lock (idle)
            {
                foreach (var connection in idle)
                    connection.Dispose();
                idle.Clear();
            }
        }
    }
}
