using Gantry.Entities.Migrations;
using Gantry.Plugins;

namespace Gantry.Migrations;

/// <summary>
/// The subsystems this node migrates: core first, then each enabled plugin that owns tables, by name.
/// The set follows the plugins property, so enabling a plugin on an existing database brings new
/// migrations that 'gantry migrations up' must apply.
/// </summary>
public static class MigrationCatalog
{
    /// <param name="extra">Subsystems a host adds (<see cref="GantryHost.ExtraSubsystems"/>); those that are plugins come through <paramref name="enabledPlugins"/>.</param>
    public static IReadOnlyList<Subsystem> For(IEnumerable<PluginDescriptor> enabledPlugins, IEnumerable<Subsystem> extra)
    {
        var subsystems = new List<Subsystem> { CoreMigrations.Subsystem };
        subsystems.AddRange(extra.Where(s => !s.IsPlugin).OrderBy(s => s.Name, StringComparer.Ordinal));
        subsystems.AddRange(enabledPlugins.Where(p => p.Migrations is not null).Select(p => p.Migrations!).OrderBy(s => s.Name, StringComparer.Ordinal));
        return subsystems;
    }
}
