using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Custom;

/// <summary>
/// The contract of a plugin that ships in its own assembly (docs/plugins.md). It holds what Kong spreads
/// over a plugin's <c>handler.lua</c> (<see cref="Priority"/>, <see cref="Version"/>, the phases of the
/// handler <see cref="CreateHandler"/> returns), <c>schema.lua</c> (<see cref="Config"/>,
/// <see cref="ConfigChecks"/>), <c>daos.lua</c> (<see cref="Entities"/>) and <c>migrations/</c>
/// (<see cref="Migrations"/>). The assembly holds exactly one public, non-abstract subclass with a public
/// parameterless constructor; Gantry turns it into the same <see cref="PluginDescriptor"/> a bundled plugin
/// has, so a custom plugin is validated, stored, migrated, pushed to data planes and run like one.
/// </summary>
public abstract class GantryPlugin
{
    /// <summary>The name the plugins property and the Admin API use; it must be the assembly's file name.</summary>
    public abstract string Name { get; }

    /// <summary>The plugin's own version (major.minor.patch); a control plane compares it with its data planes'.</summary>
    public abstract string Version { get; }

    /// <summary>Higher runs first in each phase (key-auth is 1250, rate-limiting 910, response-transformer 800).</summary>
    public abstract int Priority { get; }

    /// <summary>The fields of the instance's <c>config</c>, with their defaults (see <see cref="PluginFields"/>).</summary>
    public virtual IReadOnlyList<Field> Config => [];

    /// <summary>Rules across config fields: (a config field or null for the whole config, message) pairs; an empty result accepts.</summary>
    public virtual IReadOnlyList<Func<JsonObject, IEnumerable<(string? Field, string Message)>>> ConfigChecks => [];

    /// <summary>Entities the plugin owns, served by the Admin API while it is enabled; their tables come from <see cref="Migrations"/>.</summary>
    public virtual IReadOnlyList<EntitySchema> Entities => [];

    /// <summary>The plugin's migrations in order, run by <c>gantry migrations bootstrap</c>, <c>up</c> and <c>finish</c> under the plugin's name.</summary>
    public virtual IReadOnlyList<Migration> Migrations => [];

    /// <summary>
    /// Builds the handler of one instance from its validated config when a configuration snapshot is
    /// compiled (never during a request); one handler serves every request of the instance concurrently.
    /// </summary>
    public abstract PluginHandler CreateHandler(PluginConfig config, PluginSetup setup);

    /// <summary>The descriptor the rest of Gantry works with; read once, when the plugin is loaded.</summary>
    internal PluginDescriptor Describe() =>
        new(Name, Bundled: false, Migrations is { Count: > 0 } migrations ? new Subsystem(Name, isPlugin: true, migrations) : null)
        {
            Version = Version,
            Priority = Priority,
            Config = Config,
            ConfigChecks = ConfigChecks,
            Entities = Entities,
            Handler = CreateHandler,
        };
}
