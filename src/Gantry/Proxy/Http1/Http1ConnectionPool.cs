using System.Net;
using System.Net.Sockets;

namespace Gantry.Proxy.Http1;

/// <summary>
/// The idle keep-alive connections to one destination (host and port), most recently used first so that
/// the ones left over after a burst age out (upstream_keepalive_idle_timeout) instead of staying warm.
/// </summary>
internal sealed class Http1ConnectionPool(string host, int port, UpstreamKeepalive keepalive, DeadlineTicker ticker, bool epoll)
{
    private readonly Stack<Http1Connection> _idle = new();
    private readonly IPAddress? _address = IPAddress.TryParse(host.Trim('[', ']'), out var address) ? address : null;

    /// <summary>An idle connection that can still carry a request, else a new one.</summary>
    public ValueTask<Http1Connection> RentAsync(int connectTimeoutMs)
    {
        while (true)
        {
            Http1Connection? idle;
            lock (_idle)
                _idle.TryPop(out idle);
            if (idle is null)
                return ConnectAsync(connectTimeoutMs);
            // One about to time out could be closed by the ticker between here and its first write.
            if (!idle.IdleEndsWithin(2 * DeadlineTicker.TickMs) && idle.IsReusable())
                return ValueTask.FromResult(idle);
            idle.Dispose();
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
        lock (_idle)
        {
            if (_idle.Count >= keepalive.PoolSize)
                DropClosed();
            if (_idle.Count < keepalive.PoolSize)
            {
                _idle.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    /// <summary>Takes out the connections the ticker closed while they waited (idle timeout).</summary>
    private void DropClosed()
    {
        var open = _idle.Where(c => !c.IsDisposed).Reverse().ToArray();
        _idle.Clear();
        foreach (var connection in open)
            _idle.Push(connection);
    }

    private async ValueTask<Http1Connection> ConnectAsync(int connectTimeoutMs)
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
        var connection = new Http1Connection(endpoint.AddressFamily, ticker, epoll);
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
        lock (_idle)
        {
            foreach (var connection in _idle)
                connection.Dispose();
            _idle.Clear();
        }
    }
}
