using System.Net;
using System.Net.Sockets;

namespace Gantry.Tests.Proxy;

/// <summary>
/// A raw upstream on a loopback socket that accepts connections until disposed and keeps a record of each,
/// of the subclass's kind; the subclass reads and answers a connection in <see cref="ServeAsync"/>.
/// </summary>
public abstract class RecordingUpstream<TConnection> : IAsyncDisposable where TConnection : new()
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TConnection> _connections = [];
    private readonly Task _accepting;

    protected RecordingUpstream()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Cancelled when the upstream is disposed.</summary>
    protected CancellationTokenSource Stop { get; } = new();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The connections accepted since the start or the last <see cref="Clear"/>, in order.</summary>
    public IReadOnlyList<TConnection> Connections
    {
        get
        {
            lock (_connections)
                return [.. _connections];
        }
    }

    public void Clear()
    {
        lock (_connections)
            _connections.Clear();
    }

    /// <summary>Reads and answers one connection, recording into <paramref name="connection"/>; the client is disposed afterwards.</summary>
    protected abstract Task ServeAsync(TcpClient client, TConnection connection);

    private async Task AcceptAsync()
    {
        while (!Stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(Stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var connection = new TConnection();
            lock (_connections)
                _connections.Add(connection);
            _ = ServeThenCloseAsync(client, connection);
        }
    }

    private async Task ServeThenCloseAsync(TcpClient client, TConnection connection)
    {
        using (client)
            await ServeAsync(client, connection);
    }

    public async ValueTask DisposeAsync()
    {
        await Stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Stop.Dispose();
    }
}
