namespace Gantry.Clustering.Compatibility;

/// <summary>What a control plane checks its data planes against: its own release and its enabled plugins with their versions.</summary>
/// <param name="Plugins">Plugin name to version (<see cref="Plugins.PluginDescriptor.Version"/>).</param>
public sealed record ControlPlaneRules(ReleaseVersion Release, IReadOnlyDictionary<string, string> Plugins)
{
    public static ControlPlaneRules Of(IEnumerable<Plugins.PluginDescriptor> enabled) =>
        new(GantryInfo.Release, enabled.ToDictionary(p => p.Name, p => p.Version, StringComparer.Ordinal));
}
