using Gantry.Migrations;

namespace Gantry.Plugins;

/// <summary>A plugin this build can load, and the migrations of the tables it owns (if any).</summary>
public sealed record PluginDescriptor(string Name, bool Bundled, Subsystem? Migrations)
{
    /// <summary>The entities the plugin owns (its credentials), served by the Admin API while it is enabled.</summary>
    public IReadOnlyList<Gantry.Entities.Schema.EntitySchema> Entities { get; init; } = [];

    /// <summary>Order in the plugin chain (higher runs first), as <c>GET /</c> reports it.</summary>
    public int Priority { get; init; }
}

/// <summary>
/// The plugins this build knows. The plugins property picks from it: <c>bundled</c> stands for every
/// bundled plugin, <c>off</c> for none, and other entries are plugin names.
/// </summary>
public sealed class PluginCatalog
{
    // Plugins register here as they are built (key-auth, rate-limiting, ...); each brings its own subsystem.
    private static readonly PluginDescriptor[] Bundled = [];

    private readonly Dictionary<string, PluginDescriptor> _plugins;

    public PluginCatalog(IEnumerable<PluginDescriptor> extra)
    {
        _plugins = Bundled.Concat(extra).ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<PluginDescriptor> All => _plugins.Values;

    /// <summary>Resolves the plugins property; unknown names are returned as errors.</summary>
    public (IReadOnlyList<PluginDescriptor> Enabled, IReadOnlyList<string> Errors) Resolve(IReadOnlyList<string> setting)
    {
        var enabled = new SortedDictionary<string, PluginDescriptor>(StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var entry in setting)
        {
            var name = entry.Trim();
            if (name.Length == 0)
                continue;
            if (name == "off")
            {
                if (setting.Count > 1)
                    errors.Add("plugins: 'off' cannot be combined with other entries");
                continue;
            }
            if (name == "bundled")
            {
                foreach (var plugin in _plugins.Values.Where(p => p.Bundled))
                    enabled[plugin.Name] = plugin;
                continue;
            }
            if (_plugins.TryGetValue(name, out var found))
                enabled[found.Name] = found;
            else
                errors.Add($"plugins: plugin '{name}' is not installed (installed: {InstalledNames()})");
        }
        return (enabled.Values.ToList(), errors);
    }

    private string InstalledNames() => _plugins.Count == 0 ? "none" : string.Join(", ", _plugins.Keys.Order(StringComparer.Ordinal));
}
