using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Gantry.Balancing;
using Gantry.Entities.Schema;
using Gantry.Plugins;
using Gantry.Plugins.Pipeline;
using Gantry.Routing;
using Gantry.Store;

namespace Gantry.Proxy;

/// <summary>
/// Reads services, routes, upstreams, certificates and plugins from the store and compiles them into a
/// <see cref="ConfigSnapshot"/>; upstreams go through the node's <see cref="HealthRegistry"/>, which keeps
/// their health across rebuilds.
/// </summary>
public sealed class SnapshotBuilder(EntityDao dao, EntityRegistry registry, HealthRegistry health, IReadOnlyList<PluginDescriptor> plugins,
    PluginNodeState pluginState, ILogger logger)
{
    /// <summary>The entity name standing for "anything may have changed".</summary>
    public const string Everything = "*";

    private static readonly string[] RouterEntities = ["routes", "services"];
    private static readonly string[] BalancerEntities = ["upstreams", "targets"];
    private static readonly string[] CertificateEntities = ["certificates", "snis"];

    // Kept across rebuilds: unchanged certificates are not parsed again.
    private readonly Node.CertificateCache _certificates = new();

    // Chains depend on the plugins, the consumers and the plugins' own entities (credentials), besides the routes.
    private readonly string[] _pluginEntities = ["plugins", "consumers", .. plugins.SelectMany(p => p.Entities).Select(e => e.Name)];

    /// <summary>
    /// Builds the snapshot. Given the previous one and the entities changed since, only the parts those
    /// entities feed are rebuilt (the router when routes or services changed, the balancers when
    /// upstreams or targets did, the certificates when certificates or SNIs did, the plugin chains when
    /// plugins, consumers, credentials or routes did); the others are shared with the previous snapshot,
    /// which they never mutate. Cascading deletes need no events of their own: the parent's event
    /// rebuilds the part its children feed.
    /// </summary>
    public async Task<ConfigSnapshot> BuildAsync(long version, ConfigSnapshot? previous, IReadOnlySet<string>? changed, CancellationToken cancellationToken)
    {
        bool Touches(string[] entities) => previous is null || changed is null || changed.Contains(Everything) || entities.Any(changed.Contains);
        var routerChanged = Touches(RouterEntities);
        var (router, services, routes) = routerChanged
            ? await BuildRouterAsync(cancellationToken)
            : (previous!.Router, previous.Services, previous.Routes);
        var upstreams = Touches(BalancerEntities) ? await BuildUpstreamsAsync(cancellationToken) : previous!.Upstreams;
        var chains = routerChanged || Touches(_pluginEntities) ? await BuildPluginChainsAsync(routes, cancellationToken) : previous!.Plugins;
        var certificates = Touches(CertificateEntities) ? await BuildCertificatesAsync(cancellationToken) : previous!.Certificates;
        return new ConfigSnapshot(router, services, upstreams, version, certificates) { Plugins = chains, Routes = routes };
    }

    private async Task<(Router, FrozenDictionary<Guid, ServiceTarget>, IReadOnlyList<RouteDefinition>)> BuildRouterAsync(CancellationToken cancellationToken)
    {
        var services = new Dictionary<Guid, (ServiceTarget Target, string? Path, bool Enabled, string Label)>();
        await foreach (var service in AllAsync(registry.Get("services"), cancellationToken))
        {
            var id = Guid.Parse(service["id"]!.GetValue<string>());
            var target = new ServiceTarget(id, Text(service, "protocol") ?? "http", Text(service, "host") ?? "", Int(service, "port", 80),
                Int(service, "connect_timeout", 60000), Int(service, "read_timeout", 60000), Int(service, "write_timeout", 60000), Int(service, "retries", 5));
            services[id] = (target, Text(service, "path"), service["enabled"]?.GetValue<bool>() ?? true, Text(service, "name") ?? id.ToString());
        }
        var routes = new List<RouteDefinition>();
        await foreach (var route in AllAsync(registry.Get("routes"), cancellationToken))
        {
            Guid? serviceId = route["service"]?["id"] is { } sid ? Guid.Parse(sid.GetValue<string>()) : null;
            // A disabled service takes its routes out of the router.
            if (serviceId is { } s && services.TryGetValue(s, out var owner) && !owner.Enabled)
                continue;
            routes.Add(new RouteDefinition
            {
                Id = Guid.Parse(route["id"]!.GetValue<string>()),
                Name = Text(route, "name"),
                Protocols = Strings(route, "protocols") ?? ["http", "https"],
                Methods = Strings(route, "methods"),
                Hosts = Strings(route, "hosts"),
                Paths = Strings(route, "paths"),
                Headers = route["headers"] is JsonObject headers
                    ? headers.ToDictionary(h => h.Key, h => (IReadOnlyList<string>)(h.Value?.AsArray().Select(v => v!.GetValue<string>()).ToList() ?? []))
                    : null,
                Snis = Strings(route, "snis"),
                RegexPriority = Int(route, "regex_priority", 0),
                StripPath = route["strip_path"]?.GetValue<bool>() ?? true,
                PreserveHost = route["preserve_host"]?.GetValue<bool>() ?? false,
                PathHandling = Text(route, "path_handling") ?? "v0",
                HttpsRedirectStatusCode = Int(route, "https_redirect_status_code", 426),
                ServiceId = serviceId,
                ServicePath = serviceId is { } svc && services.TryGetValue(svc, out var found) ? found.Path : null,
                ServiceLabel = serviceId is { } labelled && services.TryGetValue(labelled, out var named) ? named.Label : null,
                CreatedAt = (long)(route["created_at"] is { } c ? SchemaValidator.ToDouble(c) : 0),
            });
        }
        return (Router.Build(routes), services.ToFrozenDictionary(p => p.Key, p => p.Value.Target), routes);
    }

    private async Task<Node.SniCertificates> BuildCertificatesAsync(CancellationToken cancellationToken)
    {
        var stored = new List<(Guid, long, string, string)>();
        await foreach (var certificate in AllAsync(registry.Get("certificates"), cancellationToken))
        {
            var updatedAt = certificate["updated_at"] ?? certificate["created_at"];
            stored.Add((Guid.Parse(certificate["id"]!.GetValue<string>()), updatedAt is null ? 0 : (long)SchemaValidator.ToDouble(updatedAt),
                Text(certificate, "cert")!, Text(certificate, "key")!));
        }
        var contexts = _certificates.Refresh(stored);
        var byName = new Dictionary<string, System.Net.Security.SslStreamCertificateContext>(StringComparer.OrdinalIgnoreCase);
        await foreach (var sni in AllAsync(registry.Get("snis"), cancellationToken))
        {
            if (sni["certificate"]?["id"] is { } id && contexts.TryGetValue(Guid.Parse(id.GetValue<string>()), out var context))
                byName[Text(sni, "name")!] = context;
        }
        return new Node.SniCertificates(byName);
    }

    /// <summary>
    /// Builds a handler for every enabled plugin instance whose plugin has one, then each route's chain.
    /// Consumers and the plugins' credentials are read only when some instance runs.
    /// </summary>
    private async Task<PluginChains> BuildPluginChainsAsync(IReadOnlyList<RouteDefinition> routes, CancellationToken cancellationToken)
    {
        var runnable = plugins.ToDictionary(p => p.Name, StringComparer.Ordinal);
        if (runnable.Count == 0)
            return PluginChains.Empty;
        var rows = new List<JsonObject>();
        await foreach (var plugin in AllAsync(registry.Get("plugins"), cancellationToken))
        {
            if ((plugin["enabled"]?.GetValue<bool>() ?? true) && runnable.ContainsKey(Text(plugin, "name")!))
                rows.Add(plugin);
        }
        if (rows.Count == 0)
            return PluginChains.Empty;
        var consumers = new Dictionary<Guid, ConsumerInfo>();
        await foreach (var consumer in AllAsync(registry.Get("consumers"), cancellationToken))
        {
            var id = Guid.Parse(consumer["id"]!.GetValue<string>());
            consumers[id] = new ConsumerInfo(id, Text(consumer, "username"), Text(consumer, "custom_id"));
        }
        var entities = new Dictionary<string, IReadOnlyList<JsonObject>>(StringComparer.Ordinal);
        foreach (var schema in rows.Select(r => runnable[Text(r, "name")!]).Distinct().SelectMany(p => p.Entities))
        {
            var list = new List<JsonObject>();
            await foreach (var entity in AllAsync(schema, cancellationToken))
                list.Add(entity);
            entities[schema.Name] = list;
        }
        var setup = new PluginSetup(consumers.ToFrozenDictionary(), entities, pluginState, logger);
        var instances = new List<ScopedInstance>(rows.Count);
        foreach (var row in rows)
        {
            var descriptor = runnable[Text(row, "name")!];
            var config = new PluginConfig(Guid.Parse(row["id"]!.GetValue<string>()), RefId(row, "route"), RefId(row, "service"), RefId(row, "consumer"),
                row["config"] as JsonObject ?? []);
            var protocols = Strings(row, "protocols") ?? PluginDescriptor.HttpProtocols;
            if (descriptor.Handler is null)
                logger.LogError("plugin {Name} ({Id}) is configured but cannot run in this build; its routes answer 500 until it is removed or disabled", descriptor.Name, config.Id);
            var handler = descriptor.Handler?.Invoke(config, setup) ?? UnavailableHandler.Instance;
            var instance = new PluginInstance(config.Id, descriptor.Name, handler,
                protocols.Contains("http") || protocols.Contains("grpc"), protocols.Contains("https") || protocols.Contains("grpcs"));
            instances.Add(new ScopedInstance(descriptor, instance, config.Route, config.Service, config.Consumer));
        }
        return PluginChains.Build(routes, instances);
    }

    private static Guid? RefId(JsonObject entity, string reference) =>
        entity[reference]?["id"] is { } id ? Guid.Parse(id.GetValue<string>()) : null;

    private async Task<FrozenDictionary<string, UpstreamBalancer>> BuildUpstreamsAsync(CancellationToken cancellationToken)
    {
        var targets = new Dictionary<string, List<(string Target, int Weight)>>();
        await foreach (var target in AllAsync(registry.Get("targets"), cancellationToken))
        {
            var upstream = target["upstream"]!["id"]!.GetValue<string>();
            if (!targets.TryGetValue(upstream, out var list))
                targets[upstream] = list = [];
            list.Add((Text(target, "target")!, Int(target, "weight", 100)));
        }
        var entities = new List<JsonObject>();
        await foreach (var upstream in AllAsync(registry.Get("upstreams"), cancellationToken))
            entities.Add(upstream);
        var healths = await health.ApplyAsync(entities.Select(u => UpstreamDefinition.From(u, targets.GetValueOrDefault(u["id"]!.GetValue<string>()) ?? [])).ToList(), cancellationToken);
        var upstreams = new Dictionary<string, UpstreamBalancer>(StringComparer.OrdinalIgnoreCase);
        foreach (var upstream in entities)
            upstreams[Text(upstream, "name")!] = new UpstreamBalancer(healths[Guid.Parse(upstream["id"]!.GetValue<string>())], Text(upstream, "host_header"), UpstreamHashInput.From(upstream));
        return upstreams.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private async IAsyncEnumerable<JsonObject> AllAsync(EntitySchema schema, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? offset = null;
        do
        {
            var page = await dao.PageAsync(schema, new PageRequest(1000, offset, [], false, null, false), cancellationToken);
            foreach (var entity in page.Data)
                yield return entity;
            offset = page.Offset;
        }
        while (offset is not null);
    }

    private static string? Text(JsonObject entity, string name) => entity[name]?.GetValue<string>();

    private static int Int(JsonObject entity, string name, int fallback) => entity[name] is { } value ? (int)SchemaValidator.ToDouble(value) : fallback;

    private static IReadOnlyList<string>? Strings(JsonObject entity, string name) =>
        entity[name] is JsonArray array ? array.Select(v => v!.GetValue<string>()).ToList() : null;
}
