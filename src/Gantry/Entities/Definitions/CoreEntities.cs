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

    public static EntityRegistry Registry(IEnumerable<PluginDescriptor> enabledPlugins) =>
        new(Core.Concat(enabledPlugins.SelectMany(p => p.Entities)));
}
