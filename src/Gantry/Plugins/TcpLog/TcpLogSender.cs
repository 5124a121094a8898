using System.Net.Security;
using System.Net.Sockets;
using Gantry.Plugins.Logging;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.TcpLog;

/// <summary>
/// Writes entries as lines to host:port, over TLS when asked; the connection is reused while it was used
/// within keepalive milliseconds, as Kong returns its socket to the pool.
/// </summary>
internal sealed class TcpLogSender(PluginConfig config) : ILogSender
{
    private static readonly byte[] LineEnd = "\r\n"u8.ToArray();
    private readonly string _host = config.Text("host")!;
    private readonly int _port = (int)config.Number("port", 0);
    private readonly TimeSpan _timeout = TimeSpan.FromMilliseconds(Math.Max(1, config.Number("timeout", 10000)));
    private readonly long _keepaliveMs = (long)config.Number("keepalive", 60000);
    private readonly bool _tls = config.Flag("tls", false);
    private readonly string? _sni = config.Text("tls_sni");
    private TcpClient? _client;
    private Stream? _stream;
    private long _lastUsed;

    public async Task SendAsync(IReadOnlyList<byte[]> batch, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_timeout);
        if (_stream is not null && Environment.TickCount64 - _lastUsed > _keepaliveMs)
            Close();
        try
        {
            var stream = _stream ??= await ConnectAsync(timeout.Token);
            foreach (var entry in batch)
            {
                await stream.WriteAsync(entry, timeout.Token);
                await stream.WriteAsync(LineEnd, timeout.Token);
            }
            await stream.FlushAsync(timeout.Token);
            _lastUsed = Environment.TickCount64;
        }
        catch
        {
            Close();
            throw;
        }
    }

    private async Task<Stream> ConnectAsync(CancellationToken cancellation)
    {
        _client = new TcpClient { NoDelay = true };
        await _client.ConnectAsync(_host, _port, cancellation);
        Stream stream = _client.GetStream();
        if (!_tls)
            return stream;
        // Kong's tcp-log does not verify the collector's certificate (its handshake passes verify = false).
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = _sni ?? _host }, cancellation);
        return ssl;
    }

    public void Dispose() => Close();

    private void Close()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }
}
