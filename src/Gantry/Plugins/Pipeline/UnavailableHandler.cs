namespace Gantry.Plugins.Pipeline;

/// <summary>
/// Stands in for an instance of a plugin whose handler this build does not have yet. Such a plugin may
/// enforce something (who may call, from where), so its routes fail closed with a 500 rather than
/// serve as if it were not configured; the node logs which plugin when it builds the snapshot.
/// </summary>
public sealed class UnavailableHandler : PluginHandler
{
    public static UnavailableHandler Instance { get; } = new();

    public override ValueTask AccessAsync(PluginRequest request)
    {
        request.Exit(500, "An unexpected error occurred");
        return ValueTask.CompletedTask;
    }
}
