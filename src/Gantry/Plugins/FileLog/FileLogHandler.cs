using Gantry.Plugins.Logging;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.FileLog;

/// <summary>Hands each request's log entry to the node's writer of its file; the request never waits for the disk.</summary>
public sealed class FileLogHandler(PluginConfig config, PluginSetup setup) : PluginHandler
{
    private readonly LogFileWriter _writer = setup.Node.LogFiles.For(config.Text("path")!, setup.Logger);
    private readonly bool _reopen = config.Flag("reopen", false);

    public override bool LogsEveryRequest => true;

    public override ValueTask AccessAsync(PluginRequest request)
    {
        request.CountResponseBytes();
        return ValueTask.CompletedTask;
    }

    public override void Log(PluginRequest request) => _writer.Offer(LogEntry.Serialize(request), _reopen);
}
