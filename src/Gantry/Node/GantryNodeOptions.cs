using Gantry.Configuration;
using Gantry.Migrations;
using Gantry.Plugins;
using Gantry.Store;

namespace Gantry.Node;

/// <summary>
/// What a node runs with, whoever starts it ('gantry start' today; database-less nodes and hybrid data
/// planes next): the loaded configuration and what was resolved from it.
/// </summary>
/// <param name="Database">The datastore, already checked for its migration state; null when the database property is 'off'.</param>
/// <param name="EnabledPlugins">The plugins the plugins property enables, resolved against the plugin catalog.</param>
/// <param name="Subsystems">Every subsystem whose migrations this release knows, for the guard of Admin writes during an upgrade.</param>
internal sealed record GantryNodeOptions(
    GantryConfig Config,
    NodePrefix Prefix,
    IDatabase? Database,
    IReadOnlyList<PluginDescriptor> EnabledPlugins,
    IReadOnlyList<Subsystem> Subsystems)
{
    /// <summary>Where the node and its web host log; null for the console, at the configuration's log_level.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>What a control plane strips from entities for data planes of earlier releases (the host's rows included).</summary>
    public Clustering.Compatibility.FieldStripper FieldStripper { get; init; } = Clustering.Compatibility.FieldStripper.Default;

    /// <summary>Called once every listener is bound and the pid file is written.</summary>
    public Action? Started { get; init; }
}
