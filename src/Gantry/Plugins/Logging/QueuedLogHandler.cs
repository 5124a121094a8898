using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Logging;

/// <summary>Sends a batch of log entries to a collector (an HTTP endpoint, a TCP or UDP socket).</summary>
public interface ILogSender : IDisposable
{
    Task SendAsync(IReadOnlyList<byte[]> batch, CancellationToken cancellation);
}

/// <summary>
/// The handler of every log plugin with a collector (http-log, tcp-log, udp-log): the request only offers its
/// serialized entry to the instance's <see cref="LogQueue"/>, whose sender delivers it off the request path.
/// The queue outlives snapshots while the instance's config is unchanged; a changed config gets a new one.
/// </summary>
public sealed class QueuedLogHandler : PluginHandler
{
    private readonly LogQueue _queue;

    public QueuedLogHandler(string plugin, PluginConfig config, PluginSetup setup, QueueSettings settings, Func<ILogSender> createSender)
    {
        var signature = config.Values.ToJsonString();
        _queue = setup.Node.LogQueues.For(config.Id, signature, () =>
        {
            var sender = createSender();
            return new LogQueue($"{plugin} {config.Id}", settings, sender.SendAsync, setup.Logger) { Signature = signature, Owned = sender };
        });
    }

    // Like Kong's loggers, counts the requests other plugins answered (401, 429) too.
    public override bool LogsEveryRequest => true;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        request.CountResponseBytes();
        return ValueTask.CompletedTask;
    }

    public override void Log(PluginRequest request) => _queue.Offer(LogEntry.Serialize(request));
}
