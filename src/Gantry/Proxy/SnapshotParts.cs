using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Gantry.Entities.Records;
using Gantry.Plugins.Pipeline;
using Gantry.Routing;

namespace Gantry.Proxy;

/// <summary>
/// The router of a snapshot and the rows it was built from, kept with the snapshot so that the next build
/// reads again only the rows that changed and compiles only the routes they feed. Never changed once the
/// snapshot exists: a build copies the maps it changes.
/// </summary>
internal sealed class RoutingPart
{
    public required Dictionary<Guid, ServiceRecord> Services { get; init; }
    public required Dictionary<Guid, InvalidEntity> ServiceProblems { get; init; }
    public required Dictionary<Guid, RouteRecord> Routes { get; init; }
    public required Dictionary<Guid, InvalidEntity> RouteProblems { get; init; }

    /// <summary>The routes the router was built from, by id: every route that reads, but those of a disabled service.</summary>
    public required Dictionary<Guid, RouteDefinition> Definitions { get; init; }

    public required IReadOnlyList<RouteDefinition> RouteList { get; init; }
    public required Router Router { get; init; }
    public required FrozenDictionary<Guid, ServiceTarget> Targets { get; init; }
    public required IReadOnlyList<InvalidEntity> Problems { get; init; }
}

/// <summary>
/// The plugin chains of a snapshot and what their handlers were built from (plugin rows, consumers, the
/// plugins' own entities), kept with the snapshot like <see cref="RoutingPart"/>.
/// </summary>
internal sealed class ChainPart
{
    public static ChainPart Empty { get; } = new() { Chains = PluginChains.Empty, Problems = [] };

    /// <summary>Every plugin row that reads, by id; null when the plugins were not read (no plugin can run).</summary>
    public Dictionary<Guid, PluginRecord>? Plugins { get; init; }
    public Dictionary<Guid, InvalidEntity> PluginProblems { get; init; } = [];

    /// <summary>Null when not read: consumers are read only while some instance runs.</summary>
    public FrozenDictionary<Guid, ConsumerInfo>? Consumers { get; init; }
    public Dictionary<Guid, InvalidEntity> ConsumerProblems { get; init; } = [];

    /// <summary>The rows of the entities the running plugins own, by entity name and id; only the names those plugins own.</summary>
    public Dictionary<string, Dictionary<Guid, JsonObject>> Entities { get; init; } = new(StringComparer.Ordinal);

    /// <summary>What the handlers were built with; a handler is built again when its row changed or this did.</summary>
    public PluginSetup? Setup { get; init; }

    /// <summary>The running instances (enabled, of a plugin this node runs) by plugin id.</summary>
    public Dictionary<Guid, ScopedInstance> Instances { get; init; } = [];
    public Dictionary<Guid, InvalidEntity> HandlerProblems { get; init; } = [];

    public required PluginChains Chains { get; init; }
    public required IReadOnlyList<InvalidEntity> Problems { get; init; }
}
