using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Plugins.Acl;
using Gantry.Plugins.BasicAuth;
using Gantry.Plugins.BotDetection;
using Gantry.Plugins.CorrelationId;
using Gantry.Plugins.Cors;
using Gantry.Plugins.FileLog;
using Gantry.Plugins.HmacAuth;
using Gantry.Plugins.HttpLog;
using Gantry.Plugins.IpRestriction;
using Gantry.Plugins.Jwt;
using Gantry.Plugins.KeyAuth;
using Gantry.Plugins.OAuth2;
using Gantry.Plugins.Prometheus;
using Gantry.Plugins.ProxyCache;
using Gantry.Plugins.RateLimiting;
using Gantry.Plugins.RequestSizeLimiting;
using Gantry.Plugins.RequestTermination;
using Gantry.Plugins.RequestTransformer;
using Gantry.Plugins.ResponseRateLimiting;
using Gantry.Plugins.ResponseTransformer;
using Gantry.Plugins.Session;
using Gantry.Plugins.TcpLog;
using Gantry.Plugins.UdpLog;

namespace Gantry.Plugins;

/// <summary>
/// A plugin this build can load: its config schema, priority and version, the entities it owns (its
/// credentials) and the migrations of their tables. Each bundled plugin describes itself in its own folder
/// (<c>Plugins/KeyAuth/KeyAuthPlugin.cs</c>) beside its request handler.
/// </summary>
public sealed record PluginDescriptor(string Name, bool Bundled, Subsystem? Migrations)
{
    /// <summary>The protocols every plugin accepts and a new plugin instance gets by default.</summary>
    public static readonly IReadOnlyList<string> HttpProtocols = ["grpc", "grpcs", "http", "https"];

    /// <summary>The entities the plugin owns (its credentials), served by the Admin API while it is enabled.</summary>
    public IReadOnlyList<EntitySchema> Entities { get; init; } = [];

    /// <summary>
    /// Entities the plugin writes while serving requests and the Admin API does not serve (oauth2's
    /// authorization codes): their writes never rebuild a configuration snapshot.
    /// </summary>
    public IReadOnlyList<EntitySchema> InternalEntities { get; init; } = [];

    /// <summary>The fields of the plugin's <c>config</c>, with their defaults.</summary>
    public IReadOnlyList<Field> Config { get; init; } = [];

    /// <summary>Rules across config fields: (a config field, "" for the config record itself as Kong's record validators report, <see cref="PluginFields.ConfigEntity"/> ("@entity") for the config record's own rules, or null for the plugin's @entity, where Kong's plugin-level entity_checks report, and a message) pairs.</summary>
    public IReadOnlyList<Func<JsonObject, IEnumerable<(string? Field, string Message)>>> ConfigChecks { get; init; } = [];

    /// <summary>
    /// Rules that depend on the node writing the instance (<see cref="ValidationContext"/>), in the same
    /// (config field or null, message) form as <see cref="ConfigChecks"/>.
    /// </summary>
    public IReadOnlyList<Func<JsonObject, ValidationContext, IEnumerable<(string? Field, string Message)>>> NodeChecks { get; init; } = [];

    /// <summary>Higher runs first in each phase.</summary>
    public int Priority { get; init; }

    public string Version { get; init; } = GantryInfo.Version;

    /// <summary>The protocols an instance may list; stream plugins add tcp, tls, udp.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = HttpProtocols;

    /// <summary>The protocols an instance gets when it lists none (Kong gives ip-restriction tcp and tls too).</summary>
    public IReadOnlyList<string> DefaultProtocols { get; init; } = HttpProtocols;

    /// <summary>Authentication plugins identify the consumer, so they cannot be scoped to one.</summary>
    public bool NoConsumer { get; init; }

    /// <summary>
    /// Builds the request handler of one instance from its validated config when a snapshot is compiled.
    /// Null for a plugin whose handler is not built yet: its instances then fail their routes closed
    /// (500).
    /// </summary>
    public Func<Pipeline.PluginConfig, Pipeline.PluginSetup, Pipeline.PluginHandler>? Handler { get; init; }

    /// <summary>Rewrites older input forms of the config (Kong's deprecated flat names) before validation.</summary>
    public Action<JsonObject>? ConfigShorthands { get; init; }
}

/// <summary>
/// The plugins this build knows. The plugins property picks from it: <c>bundled</c> stands for every
/// bundled plugin, <c>off</c> for none, and other entries are plugin names.
/// </summary>
public sealed class PluginCatalog
{
    private static readonly PluginDescriptor[] Bundled =
    [
        AclPlugin.Descriptor,
        BasicAuthPlugin.Descriptor,
        BotDetectionPlugin.Descriptor,
        CorrelationIdPlugin.Descriptor,
        CorsPlugin.Descriptor,
        FileLogPlugin.Descriptor,
        HmacAuthPlugin.Descriptor,
        HttpLogPlugin.Descriptor,
        IpRestrictionPlugin.Descriptor,
        JwtPlugin.Descriptor,
        KeyAuthPlugin.Descriptor,
        OAuth2Plugin.Descriptor,
        PrometheusPlugin.Descriptor,
        ProxyCachePlugin.Descriptor,
        RateLimitingPlugin.Descriptor,
        RequestSizeLimitingPlugin.Descriptor,
        RequestTerminationPlugin.Descriptor,
        RequestTransformerPlugin.Descriptor,
        ResponseRateLimitingPlugin.Descriptor,
        ResponseTransformerPlugin.Descriptor,
        SessionPlugin.Descriptor,
        TcpLogPlugin.Descriptor,
        UdpLogPlugin.Descriptor,
    ];

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
