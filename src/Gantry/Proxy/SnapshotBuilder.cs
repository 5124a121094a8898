using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Gantry.Balancing;
using Gantry.Entities.Records;
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
    /// <param name="source">Where the entities are read from when it is not the builder's store: a node
    /// without a database builds a new configuration from the store it will swap in with the snapshot.</param>
    public async Task<ConfigSnapshot> BuildAsync(long version, ConfigSnapshot? previous, IReadOnlySet<string>? changed, CancellationToken cancellationToken,
        EntityDao? source = null)
    {
        _source = source ?? dao;
        bool Touches(string[] entities) => previous is null || changed is null || changed.Contains(Everything) || entities.Any(changed.Contains);
        _problems = [];
        var invalid = previous?.Invalid ?? SnapshotProblems.None;
        var routerChanged = Touches(RouterEntities);
        var (router, services, routes) = routerChanged
            ? await BuildRouterAsync(cancellationToken)
            : (previous!.Router, previous.Services, previous.Routes);
        if (routerChanged)
            invalid = invalid with { Router = TakeProblems() };
        var upstreams = Touches(BalancerEntities) ? await BuildUpstreamsAsync(cancellationToken) : previous!.Upstreams;
        if (Touches(BalancerEntities))
            invalid = invalid with { Balancers = TakeProblems() };
        // What the chains read and no change touched is taken from the last build: a route change on a node
        // with 100,000 consumers does not read them again.
        _reusable = previous is null || changed is null || changed.Contains(Everything) ? null : changed;
        var chains = routerChanged || Touches(_pluginEntities) ? await BuildPluginChainsAsync(routes, cancellationToken) : previous!.Plugins;
        if (routerChanged || Touches(_pluginEntities))
            invalid = invalid with { Plugins = TakeProblems() };
        var certificates = Touches(CertificateEntities) ? await BuildCertificatesAsync(cancellationToken) : previous!.Certificates;
        if (Touches(CertificateEntities))
            invalid = invalid with { Certificates = TakeProblems() };
        return new ConfigSnapshot(router, services, upstreams, version, certificates) { Plugins = chains, Routes = routes, Invalid = invalid };
    }

    // The store the build in progress reads; builds never overlap.
    private EntityDao? _source;

    // The entity types changed since the last build when what the last build read of the others may be
    // reused (null: read everything), and what the last build read for the plugin chains.
    private IReadOnlySet<string>? _reusable;
    private FrozenDictionary<Guid, ConsumerInfo>? _lastConsumers;
    private readonly Dictionary<string, IReadOnlyList<JsonObject>> _lastEntities = new(StringComparer.Ordinal);

    private bool Reusable(string entity) => _reusable is not null && !_reusable.Contains(entity);

    // The entities skipped by the part being built; each is logged the first time it is seen.
    private List<InvalidEntity> _problems = [];
    private readonly HashSet<InvalidEntity> _logged = [];

    private void Skip(InvalidEntity problem)
    {
        _problems.Add(problem);
        lock (_logged)
        {
            if (_logged.Add(problem))
                logger.LogError("{Entity} {Id} is skipped: {Reason}; the rest of the configuration applies. Fix or delete it through the Admin API",
                    problem.Entity, problem.Id, problem.Reason);
        }
    }

    private IReadOnlyList<InvalidEntity> TakeProblems()
    {
        var taken = _problems;
        _problems = [];
        return taken;
    }

    /// <summary>Every row of the entity read into its record; rows that do not read are skipped and reported.</summary>
    private async IAsyncEnumerable<T> RecordsAsync<T>(string entity, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        var schema = registry.Get(entity);
        await foreach (var row in AllAsync(schema, cancellationToken))
        {
            T record;
            try
            {
                record = EntityRecords.Read<T>(schema, row);
            }
            catch (InvalidEntityException e)
            {
                Skip(new InvalidEntity(e.Entity, e.Id, e.Reason));
                continue;
            }
            yield return record;
        }
    }

    private async Task<(Router, FrozenDictionary<Guid, ServiceTarget>, IReadOnlyList<RouteDefinition>)> BuildRouterAsync(CancellationToken cancellationToken)
    {
        var services = new Dictionary<Guid, ServiceRecord>();
        var targets = new Dictionary<Guid, ServiceTarget>();
        await foreach (var service in RecordsAsync<ServiceRecord>("services", cancellationToken))
        {
            services[service.Id] = service;
            targets[service.Id] = new ServiceTarget(service.Id, service.Protocol, service.Host, service.Port,
                service.ConnectTimeout, service.ReadTimeout, service.WriteTimeout, service.Retries);
        }
        var routes = new List<RouteDefinition>();
        await foreach (var route in RecordsAsync<RouteRecord>("routes", cancellationToken))
        {
            var service = route.Service is { } reference ? services.GetValueOrDefault(reference.Id) : null;
            // A disabled service takes its routes out of the router.
            if (service is { Enabled: false })
                continue;
            routes.Add(RouteDefinition.From(route, service));
        }
        var router = Router.Build(routes, (route, error) => Skip(new InvalidEntity("routes", route.Id.ToString(), error.Message)));
        return (router, targets.ToFrozenDictionary(), routes);
    }

    private async Task<Node.SniCertificates> BuildCertificatesAsync(CancellationToken cancellationToken)
    {
        var stored = new List<(Guid, long, string, string)>();
        await foreach (var certificate in RecordsAsync<CertificateRecord>("certificates", cancellationToken))
            stored.Add((certificate.Id, (long)(certificate.UpdatedAt ?? certificate.CreatedAt), certificate.Cert, certificate.Key));
        var contexts = _certificates.Refresh(stored);
        var byName = new Dictionary<string, System.Net.Security.SslStreamCertificateContext>(StringComparer.OrdinalIgnoreCase);
        await foreach (var sni in RecordsAsync<SniRecord>("snis", cancellationToken))
        {
            if (contexts.TryGetValue(sni.Certificate.Id, out var context))
                byName[sni.Name] = context;
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
            return NoChains();
        var rows = new List<PluginRecord>();
        await foreach (var plugin in RecordsAsync<PluginRecord>("plugins", cancellationToken))
        {
            if (plugin.Enabled && runnable.ContainsKey(plugin.Name))
                rows.Add(plugin);
        }
        if (rows.Count == 0)
            return NoChains();
        if (_lastConsumers is null || !Reusable("consumers"))
        {
            var consumers = new Dictionary<Guid, ConsumerInfo>();
            await foreach (var consumer in RecordsAsync<ConsumerRecord>("consumers", cancellationToken))
                consumers[consumer.Id] = new ConsumerInfo(consumer.Id, consumer.Username, consumer.CustomId);
            _lastConsumers = consumers.ToFrozenDictionary();
        }
        var entities = new Dictionary<string, IReadOnlyList<JsonObject>>(StringComparer.Ordinal);
        foreach (var schema in rows.Select(r => runnable[r.Name]).Distinct().SelectMany(p => p.Entities))
        {
            if (!_lastEntities.TryGetValue(schema.Name, out var list) || !Reusable(schema.Name))
            {
                var read = new List<JsonObject>();
                await foreach (var entity in AllAsync(schema, cancellationToken))
                    read.Add(entity);
                _lastEntities[schema.Name] = list = read;
            }
            entities[schema.Name] = list;
        }
        // Types not read this time may change unseen until they are read again: they are not kept.
        foreach (var unread in _lastEntities.Keys.Where(k => !entities.ContainsKey(k)).ToList())
            _lastEntities.Remove(unread);
        var setup = new PluginSetup(_lastConsumers, entities, pluginState, logger);
        var instances = new List<ScopedInstance>(rows.Count);
        foreach (var row in rows)
        {
            var descriptor = runnable[row.Name];
            var config = new PluginConfig(row.Id, row.Route?.Id, row.Service?.Id, row.Consumer?.Id, row.Config);
            if (descriptor.Handler is null)
                logger.LogError("plugin {Name} ({Id}) is configured but cannot run in this build; its routes answer 500 until it is removed or disabled", descriptor.Name, config.Id);
            PluginHandler handler;
            try
            {
                handler = descriptor.Handler?.Invoke(config, setup) ?? UnavailableHandler.Instance;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Failing closed: skipping an authentication plugin would open its routes.
                Skip(new InvalidEntity("plugins", row.Id.ToString(), $"{row.Name}: its configuration cannot be used ({e.Message}); its routes answer 500"));
                handler = UnavailableHandler.Instance;
            }
            var instance = new PluginInstance(config.Id, descriptor.Name, handler,
                row.Protocols.Contains("http") || row.Protocols.Contains("grpc"), row.Protocols.Contains("https") || row.Protocols.Contains("grpcs"));
            instances.Add(new ScopedInstance(descriptor, instance, config.Route, config.Service, config.Consumer));
        }
        return PluginChains.Build(routes, instances);
    }

    /// <summary>No chains, and nothing kept: what they would read may change unseen until they are built again.</summary>
    private PluginChains NoChains()
    {
        _lastConsumers = null;
        _lastEntities.Clear();
        return PluginChains.Empty;
    }

    private async Task<FrozenDictionary<string, UpstreamBalancer>> BuildUpstreamsAsync(CancellationToken cancellationToken)
    {
        var targets = new Dictionary<Guid, List<(string Target, int Weight)>>();
        await foreach (var target in RecordsAsync<TargetRecord>("targets", cancellationToken))
        {
            if (!targets.TryGetValue(target.Upstream.Id, out var list))
                targets[target.Upstream.Id] = list = [];
            list.Add((target.Target, target.Weight));
        }
        var records = new List<UpstreamRecord>();
        await foreach (var upstream in RecordsAsync<UpstreamRecord>("upstreams", cancellationToken))
            records.Add(upstream);
        var healths = await health.ApplyAsync(records.Select(u => UpstreamDefinition.From(u, targets.GetValueOrDefault(u.Id) ?? [])).ToList(), cancellationToken);
        var upstreams = new Dictionary<string, UpstreamBalancer>(StringComparer.OrdinalIgnoreCase);
        foreach (var upstream in records)
            upstreams[upstream.Name] = new UpstreamBalancer(healths[upstream.Id], upstream.HostHeader, UpstreamHashInput.From(upstream));
        return upstreams.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private async IAsyncEnumerable<JsonObject> AllAsync(EntitySchema schema, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? offset = null;
        do
        {
            var page = await (_source ?? dao).PageAsync(schema, new PageRequest(1000, offset, [], false, null, false), cancellationToken);
            foreach (var entity in page.Data)
                yield return entity;
            offset = page.Offset;
        }
        while (offset is not null);
    }
}
