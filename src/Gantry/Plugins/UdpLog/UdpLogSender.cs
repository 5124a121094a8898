using System.Net.Sockets;
using Gantry.Plugins.Logging;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.UdpLog;

/// <summary>One socket per instance, connected to the collector once (so the name is resolved once, and again after a failure).</summary>
internal sealed class UdpLogSender(PluginConfig config) : ILogSender
{
    private readonly string _host = config.Text("host")!;
    private readonly int _port = (int)config.Number("port", 0);
    private readonly TimeSpan _timeout = TimeSpan.FromMilliseconds(Math.Max(1, config.Number("timeout", 10000)));
    private UdpClient? _client;

    public async Task SendAsync(IReadOnlyList<byte[]> batch, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(_timeout);
        try
        {
            if (_client is null)
            {
                _client = new UdpClient();
                _client.Connect(_host, _port);
            }
            foreach (var entry in batch)
                await _client.SendAsync(entry, timeout.Token);
        }
        catch
        {
            _client?.Dispose();
            _client = null;
            throw;
        }
    }

    public void Dispose()
    {
        _client?.Dispose();
        _client = null;
    }
}
