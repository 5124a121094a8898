using Gantry.Entities.Schema;
using Gantry.Plugins;

namespace Gantry.Entities.Definitions;

/// <summary>The entities of core, plus those the enabled plugins bring (their credentials).</summary>
public static class CoreEntities
{
    public static IReadOnlyList<EntitySchema> Core { get; } =
    [
        Services.Schema,
        Routes.Schema,
        Consumers.Schema,
        Upstreams.Schema,
        Targets.Schema,
        Certificates.Schema,
        Snis.Schema,
        CaCertificates.Schema,
        KeySets.Schema,
        Keys.Schema,
        Vaults.Schema,
    ];

    /// <summary>
    /// Core's entities, the plugins entity (whose names and configs depend on the enabled plugins, so it is
    /// built here rather than listed in <see cref="Core"/>), and the enabled plugins' own entities.
    /// </summary>
    /// <param name="context">The node that writes through this registry (its role); a standalone node when null.</param>
    public static EntityRegistry Registry(IReadOnlyList<PluginDescriptor> enabledPlugins, ValidationContext? context = null) =>
        new([
            // Routes' fields depend on the router flavor; every other core entity is the same on every node.
            .. Core.Select(schema => schema == Routes.Schema ? Routes.SchemaFor(context?.RouterFlavor ?? default) : schema),
            Plugins.Schema(enabledPlugins, context),
            .. enabledPlugins.SelectMany(p => p.Entities),
        ]);
}
