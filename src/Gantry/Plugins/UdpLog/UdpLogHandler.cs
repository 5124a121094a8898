using System.Net.Sockets;
using Gantry.Plugins.Logging;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.UdpLog;

/// <summary>Queues each request's log entry; the instance's queue sends each as one datagram, off the request path.</summary>
public sealed class UdpLogHandler : PluginHandler
{
    private readonly LogQueue _queue;

    public UdpLogHandler(PluginConfig config, PluginSetup setup)
    {
        var signature = config.Values.ToJsonString();
        _queue = setup.Node.LogQueues.For(config.Id, signature, () =>
        {
            var sender = new UdpLogSender(config);
            return new LogQueue($"udp-log {config.Id}", QueueSettings.Unbatched, sender.SendAsync, setup.Logger) { Signature = signature, Owned = sender };
        });
    }

    public override bool LogsEveryRequest => true;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        request.CountResponseBytes();
        return ValueTask.CompletedTask;
    }

    public override void Log(PluginRequest request) => _queue.Offer(LogEntry.Serialize(request));
}

/// <summary>One socket per instance, connected to the collector once (so the name is resolved once, and again after a failure).</summary>
internal sealed class UdpLogSender(PluginConfig config) : IDisposable
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
