namespace Gantry.Node;

/// <summary>The node's working directory: pid file, logs, generated certificates and the node id.</summary>
public sealed class NodePrefix(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    public string PidFile => Path.Combine(Root, "pids", "gantry.pid");

    public string LogDirectory => Path.Combine(Root, "logs");

    public string SslDirectory => Path.Combine(Root, "ssl");

    public void Prepare()
    {
        try
        {
            Directory.CreateDirectory(Path.Combine(Root, "pids"));
            Directory.CreateDirectory(LogDirectory);
            Directory.CreateDirectory(SslDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NodeStartException($"cannot prepare the prefix directory {Root}: {e.Message}; choose another with -p or the prefix property");
        }
    }

    /// <summary>A node keeps its id across restarts, as Kong's does.</summary>
    public Guid NodeId()
    {
        var file = Path.Combine(Root, "node.id");
        if (File.Exists(file) && Guid.TryParse(File.ReadAllText(file).Trim(), out var id))
            return id;
        id = Guid.NewGuid();
        File.WriteAllText(file, id.ToString());
        return id;
    }

    /// <summary>The pid of the running node, or null when none runs (a stale pid file counts as none).</summary>
    public int? RunningPid()
    {
        if (!File.Exists(PidFile) || !int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid))
            return null;
        // A pid file left by a process that died in a container names the pid this process now has
        // (often 1): that is no other node, and refusing to start would loop the container forever.
        return pid != Environment.ProcessId && ProcessSignals.IsAlive(pid) ? pid : null;
    }
}
