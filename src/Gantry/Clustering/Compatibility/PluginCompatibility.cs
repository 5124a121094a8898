namespace Gantry.Clustering.Compatibility;

/// <summary>A plugin as a data plane lists it in hello: its name and its version (major.minor.patch).</summary>
public sealed record DataPlanePlugin(string Name, string Version);

/// <summary>
/// Kong's plugin rule for a data plane. Every plugin the configuration uses must be on the data plane,
/// else <see cref="SyncStatus.PluginSetIncompatible"/>; with the control plane's major version, and a
/// minor no newer than the control plane's, else <see cref="SyncStatus.PluginVersionIncompatible"/>
/// (an older minor is fed, its unknown fields stripped). Either status holds the configuration back
/// while the link stays open. A plugin that nothing uses yet only warns: it holds nothing back until a
/// plugin entity names it, and then this check, run again, says so.
/// </summary>
public static class PluginCompatibility
{
    /// <param name="usedPlugins">The names of the plugin entities in the configuration being served (each name once or more).</param>
    /// <param name="controlPlanePlugins">The control plane's enabled plugins, name to version (<see cref="Plugins.PluginDescriptor.Version"/>).</param>
    /// <param name="dataPlanePlugins">What the data plane listed in hello.</param>
    /// <returns>Normal (possibly with warnings), or the status and a message naming every plugin at fault.</returns>
    public static CompatibilityVerdict Check(IEnumerable<string> usedPlugins, IReadOnlyDictionary<string, string> controlPlanePlugins,
        IReadOnlyList<DataPlanePlugin> dataPlanePlugins)
    {
        var onDataPlane = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var plugin in dataPlanePlugins)
            onDataPlane[plugin.Name] = plugin.Version;
        var used = new SortedSet<string>(usedPlugins, StringComparer.Ordinal);
        var missing = new List<string>();
        var versions = new List<string>();
        var warnings = new List<string>();
        foreach (var name in used)
        {
            if (!onDataPlane.TryGetValue(name, out var dataPlaneVersion))
                missing.Add(name);
            else if (controlPlanePlugins.TryGetValue(name, out var controlPlaneVersion) && VersionProblem(name, controlPlaneVersion, dataPlaneVersion) is { } problem)
                versions.Add(problem);
        }
        foreach (var (name, controlPlaneVersion) in controlPlanePlugins.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (used.Contains(name))
                continue;
            if (!onDataPlane.TryGetValue(name, out var dataPlaneVersion))
                warnings.Add($"plugin {name} is enabled on the control plane but missing from the data plane; "
                    + "the data plane will get no configuration once a plugin entity uses it");
            else if (VersionProblem(name, controlPlaneVersion, dataPlaneVersion) is { } problem)
                warnings.Add(problem + "; the data plane will get no configuration once a plugin entity uses it");
        }
        if (missing.Count > 0)
            return new CompatibilityVerdict(SyncStatus.PluginSetIncompatible,
                $"the configuration uses plugin{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}, missing from the data plane; "
                + "install the plugin on the data plane (the data plane keeps serving its last configuration until then)", warnings);
        if (versions.Count > 0)
            return new CompatibilityVerdict(SyncStatus.PluginVersionIncompatible,
                string.Join("; ", versions) + " (the data plane keeps serving its last configuration until this is fixed)", warnings);
        return warnings.Count == 0 ? CompatibilityVerdict.Compatible : new CompatibilityVerdict(SyncStatus.Normal, null, warnings);
    }

    private static string? VersionProblem(string name, string controlPlaneVersion, string dataPlaneVersion)
    {
        if (!ReleaseVersion.TryParse(dataPlaneVersion, out var dataPlane))
            return $"plugin {name} on the data plane has version '{dataPlaneVersion}', which is not major.minor.patch";
        // A control plane plugin without a readable version (a custom one) cannot be compared: only its presence counts.
        if (!ReleaseVersion.TryParse(controlPlaneVersion, out var controlPlane))
            return null;
        if (dataPlane.Major != controlPlane.Major)
            return $"plugin {name} is version {dataPlane} on the data plane and {controlPlane} on the control plane, of another major version";
        if (dataPlane.Minor > controlPlane.Minor)
            return $"plugin {name} is version {dataPlane} on the data plane, newer than {controlPlane} on the control plane; upgrade the control plane first";
        return null;
    }
}
