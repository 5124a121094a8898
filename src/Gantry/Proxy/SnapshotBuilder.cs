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
    private readonly string[] _pluginEntities = ["plugins", "consumers", .. plugins.SelectMany(p => p.Entities).Where(e => !e.ReadOnRequest).Select(e => e.Name)];

    // Rows the proxy reads per request (oauth2 tokens and codes): a change of only these leaves every snapshot as it was.
    private readonly HashSet<string> _readOnRequest = [.. plugins.SelectMany(p => p.Entities.Concat(p.InternalEntities)).Where(e => e.ReadOnRequest).Select(e => e.Name)];

    /// <summary>Whether the changes can alter a snapshot: false when they name only entities read per request.</summary>
    public bool Feeds(SnapshotChanges changes) => changes.Everything || changes.Types.Any(type => !_readOnRequest.Contains(type));

    private readonly Dictionary<string, PluginDescriptor> _runnable = plugins.ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>
    /// Builds the snapshot. Given the previous one and the changes since, only the parts those entities
    /// feed are rebuilt (the router when routes or services changed, the balancers when upstreams or
    /// targets did, the certificates when certificates or SNIs did, the plugin chains when plugins,
    /// consumers, credentials or routes did); the others are shared with the previous snapshot, which they
    /// never mutate. Within the router and the chains, only the rows the changes name are read again: a
    /// one-route change compiles that route and resolves its chain, and the other routes keep their
    /// compiled matchers and chains. Cascading deletes write an event for every row they delete.
    /// </summary>
    /// <param name="source">Where the entities are read from when it is not the builder's store: a node
    /// without a database builds a new configuration from the store it will swap in with the snapshot.</param>
    public async Task<ConfigSnapshot> BuildAsync(long version, ConfigSnapshot? previous, SnapshotChanges? changes, CancellationToken cancellationToken,
        EntityDao? source = null)
    {
        _source = source ?? dao;
        _phases.Restart();
        if (previous?.Routing is null || previous.Chains is null || changes is null || changes.Everything)
            (previous, changes) = (null, SnapshotChanges.All());
        bool Touches(string[] entities) => previous is null || changes.TouchesAny(entities);
        var invalid = previous?.Invalid ?? SnapshotProblems.None;

        var routing = previous?.Routing;
        IReadOnlySet<Guid>? staleRoutes = NoRoutes;
        if (routing is null || Touches(RouterEntities))
        {
            (routing, staleRoutes) = await BuildRoutingAsync(routing, changes, cancellationToken);
            invalid = invalid with { Router = routing.Problems };
        }
        var routerMs = _phases.Lap();
        Node.InlineIo.WarnIfOnSocketThread(logger, "a configuration rebuild");
        var upstreams = Touches(BalancerEntities) ? await BuildUpstreamsAsync(cancellationToken) : previous!.Upstreams;
        if (Touches(BalancerEntities))
            invalid = invalid with { Balancers = TakeProblems() };
        var balancersMs = _phases.Lap();
        var chains = previous?.Chains;
        if (chains is null || staleRoutes is null || staleRoutes.Count > 0 || Touches(_pluginEntities))
        {
            chains = await BuildChainsAsync(chains, changes, routing, staleRoutes, cancellationToken);
            invalid = invalid with { Plugins = chains.Problems };
        }
        var chainsMs = _phases.Lap();
        var certificates = Touches(CertificateEntities) ? await BuildCertificatesAsync(cancellationToken) : previous!.Certificates;
        if (Touches(CertificateEntities))
            invalid = invalid with { Certificates = TakeProblems() };
        Node.InlineIo.WarnIfOnSocketThread(logger, "a configuration rebuild");
        logger.LogDebug("configuration version {Version}: router {Router} ms, balancers {Balancers} ms, plugin chains {Chains} ms, certificates {Certificates} ms",
            version, routerMs, balancersMs, chainsMs, _phases.Lap());
        return new ConfigSnapshot(routing.Router, routing.Targets, upstreams, version, certificates)
        {
            Plugins = chains.Chains,
            Routes = routing.RouteList,
            Invalid = invalid,
            Routing = routing,
            Chains = chains,
        };
    }

    private static readonly IReadOnlySet<Guid> NoRoutes = new HashSet<Guid>();

    private readonly PhaseClock _phases = new();

    /// <summary>Milliseconds between laps, for the debug line that says where a build's time went.</summary>
    private sealed class PhaseClock
    {
        private readonly System.Diagnostics.Stopwatch _clock = new();
        private long _last;

        public void Restart()
        {
            _clock.Restart();
            _last = 0;
        }

        public long Lap()
        {
            var now = _clock.ElapsedMilliseconds;
            var lap = now - _last;
            _last = now;
            return lap;
        }
    }

    // The store the build in progress reads; builds never overlap.
    private EntityDao? _source;

    // The entities skipped by the balancers or the certificates being built; each is logged the first time it is seen.
    private List<InvalidEntity> _problems = [];
    private readonly HashSet<InvalidEntity> _logged = [];

    private void Skip(InvalidEntity problem)
    {
        _problems.Add(problem);
        Log(problem);
    }

    private void Log(InvalidEntity problem)
    {
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

    /// <summary>
    /// Reading rows one by one pays over reading the whole table while they are few: up to a tenth of
    /// the table (a bulk import of consumers reads the table instead).
    /// </summary>
    private static bool FewEnough(IReadOnlySet<Guid> ids, int known) => ids.Count <= Math.Max(100, known / 10);

    /// <summary>A key for a problem: the row's id, or a key of its own for a row whose id does not read (only a whole read drops it).</summary>
    private static Guid KeyOf(InvalidEntity problem) => Guid.TryParse(problem.Id, out var id) ? id : Guid.NewGuid();

    /// <summary>Every row of the entity into <paramref name="records"/> by id, or into <paramref name="problems"/> when it does not read.</summary>
    private async Task ReadAllAsync<T>(string entity, Func<T, Guid> idOf, Dictionary<Guid, T> records, Dictionary<Guid, InvalidEntity> problems,
        CancellationToken cancellationToken) where T : class
    {
        var schema = registry.Get(entity);
        await foreach (var row in AllAsync(schema, cancellationToken))
        {
            try
            {
                var record = EntityRecords.Read<T>(schema, row);
                records[idOf(record)] = record;
            }
            catch (InvalidEntityException e)
            {
                var problem = new InvalidEntity(e.Entity, e.Id, e.Reason);
                Log(problem);
                problems[KeyOf(problem)] = problem;
            }
        }
    }

    /// <summary>The rows <paramref name="ids"/> as they are now: each is taken out of both maps, then put back into one of them unless it was deleted.</summary>
    private async Task ReadRowsAsync<T>(string entity, IReadOnlySet<Guid> ids, Dictionary<Guid, T> records, Dictionary<Guid, InvalidEntity> problems,
        CancellationToken cancellationToken) where T : class
    {
        var schema = registry.Get(entity);
        foreach (var id in ids)
        {
            records.Remove(id);
            problems.Remove(id);
            if (await _source!.GetAsync(schema, id.ToString(), cancellationToken) is not { } row)
                continue;
            try
            {
                records[id] = EntityRecords.Read<T>(schema, row);
            }
            catch (InvalidEntityException e)
            {
                var problem = new InvalidEntity(e.Entity, e.Id, e.Reason);
                Log(problem);
                problems[id] = problem;
            }
        }
    }

    /// <summary>
    /// The router part, and the ids of the routes whose definition changed, appeared or went (null: any may
    /// have). Without a previous part, or when the changes do not name their rows or name too many, every
    /// service and route is read; otherwise only the rows named, and only the routes they feed are
    /// defined and compiled again.
    /// </summary>
    private async Task<(RoutingPart, IReadOnlySet<Guid>?)> BuildRoutingAsync(RoutingPart? previous, SnapshotChanges changes, CancellationToken cancellationToken)
    {
        var serviceIds = previous is null ? null : changes.Ids("services");
        var routeIds = previous is null ? null : changes.Ids("routes");
        Dictionary<Guid, ServiceRecord> services;
        Dictionary<Guid, InvalidEntity> serviceProblems;
        Dictionary<Guid, RouteRecord> routes;
        Dictionary<Guid, InvalidEntity> routeProblems;
        Dictionary<Guid, RouteDefinition> definitions;
        HashSet<Guid>? stale;
        if (previous is null || serviceIds is null || routeIds is null
            || !FewEnough(serviceIds, previous.Services.Count) || !FewEnough(routeIds, previous.Routes.Count))
        {
            (services, serviceProblems, routes, routeProblems) = ([], [], [], []);
            await ReadAllAsync<ServiceRecord>("services", s => s.Id, services, serviceProblems, cancellationToken);
            await ReadAllAsync<RouteRecord>("routes", r => r.Id, routes, routeProblems, cancellationToken);
            definitions = new Dictionary<Guid, RouteDefinition>(routes.Count);
            foreach (var route in routes.Values)
            {
                if (Define(route, services) is { } definition)
                    definitions[route.Id] = definition;
            }
            stale = null;
        }
        else
        {
            (services, serviceProblems) = serviceIds.Count == 0 ? (previous.Services, previous.ServiceProblems) : (new(previous.Services), new(previous.ServiceProblems));
            (routes, routeProblems) = routeIds.Count == 0 ? (previous.Routes, previous.RouteProblems) : (new(previous.Routes), new(previous.RouteProblems));
            await ReadRowsAsync("services", serviceIds, services, serviceProblems, cancellationToken);
            await ReadRowsAsync("routes", routeIds, routes, routeProblems, cancellationToken);
            // A service's path, name and enabled flag are copied into its routes' definitions.
            stale = [.. routeIds];
            if (serviceIds.Count > 0)
            {
                foreach (var (id, route) in routes)
                {
                    if (route.Service is { } service && serviceIds.Contains(service.Id))
                        stale.Add(id);
                }
            }
            definitions = stale.Count == 0 ? previous.Definitions : new(previous.Definitions);
            foreach (var id in stale)
            {
                definitions.Remove(id);
                if (routes.TryGetValue(id, out var route) && Define(route, services) is { } definition)
                    definitions[id] = definition;
            }
        }
        var routeList = definitions.Values.ToList();
        var compileProblems = new List<InvalidEntity>();
        var router = Router.Build(routeList, (route, error) =>
        {
            var problem = new InvalidEntity("routes", route.Id.ToString(), error.Message);
            Log(problem);
            compileProblems.Add(problem);
        }, previous?.Router);
        var targets = previous is not null && serviceIds is { Count: 0 } && stale is not null
            ? previous.Targets
            : services.Values.ToFrozenDictionary(s => s.Id, s => new ServiceTarget(s.Id, s.Protocol, s.Host, s.Port, s.ConnectTimeout, s.ReadTimeout, s.WriteTimeout, s.Retries));
        var part = new RoutingPart
        {
            Services = services,
            ServiceProblems = serviceProblems,
            Routes = routes,
            RouteProblems = routeProblems,
            Definitions = definitions,
            RouteList = routeList,
            Router = router,
            Targets = targets,
            Problems = [.. serviceProblems.Values, .. routeProblems.Values, .. compileProblems],
        };
        return (part, stale);
    }

    /// <summary>The route as the router reads it, or null when its service is disabled, which takes its routes out of the router.</summary>
    private static RouteDefinition? Define(RouteRecord route, Dictionary<Guid, ServiceRecord> services)
    {
        var service = route.Service is { } reference ? services.GetValueOrDefault(reference.Id) : null;
        return service is { Enabled: false } ? null : RouteDefinition.From(route, service);
    }

    /// <summary>
    /// Builds a handler for every enabled plugin instance whose plugin has one, then each route's chain.
    /// Consumers and the plugins' credentials are read only when some instance runs. Given the previous
    /// part, only the rows the changes name are read again; a handler is built again only when its row
    /// changed or what every handler reads (consumers, credentials) did; and only the chains of
    /// <paramref name="staleRoutes"/> and of the routes a changed instance applies to are resolved again.
    /// </summary>
    private async Task<ChainPart> BuildChainsAsync(ChainPart? previous, SnapshotChanges changes, RoutingPart routing, IReadOnlySet<Guid>? staleRoutes,
        CancellationToken cancellationToken)
    {
        if (_runnable.Count == 0)
            return ChainPart.Empty;

        // The plugin rows.
        var pluginIds = previous?.Plugins is null ? null : changes.Ids("plugins");
        Dictionary<Guid, PluginRecord> pluginRows;
        Dictionary<Guid, InvalidEntity> pluginProblems;
        if (previous?.Plugins is null || pluginIds is null || !FewEnough(pluginIds, previous.Plugins.Count))
        {
            (pluginRows, pluginProblems, pluginIds) = ([], [], null);
            await ReadAllAsync<PluginRecord>("plugins", p => p.Id, pluginRows, pluginProblems, cancellationToken);
        }
        else if (pluginIds.Count == 0)
            (pluginRows, pluginProblems) = (previous.Plugins, previous.PluginProblems);
        else
        {
            (pluginRows, pluginProblems) = (new(previous.Plugins), new(previous.PluginProblems));
            await ReadRowsAsync("plugins", pluginIds, pluginRows, pluginProblems, cancellationToken);
        }
        var rows = pluginRows.Values.Where(p => p.Enabled && _runnable.ContainsKey(p.Name)).ToList();
        if (rows.Count == 0)
        {
            // Nothing else is kept: what the chains would read may change unseen until they are built again.
            return new ChainPart { Plugins = pluginRows, PluginProblems = pluginProblems, Chains = PluginChains.Empty, Problems = [.. pluginProblems.Values] };
        }

        // The consumers.
        var consumerIds = previous?.Consumers is null ? null : changes.Ids("consumers");
        var consumers = previous?.Consumers;
        var consumerProblems = previous?.ConsumerProblems ?? [];
        var setupChanged = false;
        if (consumers is null || consumerIds is null || !FewEnough(consumerIds, consumers.Count))
        {
            var read = new Dictionary<Guid, ConsumerRecord>();
            consumerProblems = [];
            await ReadAllAsync("consumers", c => c.Id, read, consumerProblems, cancellationToken);
            consumers = read.Values.ToFrozenDictionary(c => c.Id, c => new ConsumerInfo(c.Id, c.Username, c.CustomId));
            setupChanged = true;
        }
        else if (consumerIds.Count > 0)
        {
            var read = new Dictionary<Guid, ConsumerRecord>();
            consumerProblems = new(consumerProblems);
            await ReadRowsAsync("consumers", consumerIds, read, consumerProblems, cancellationToken);
            var map = new Dictionary<Guid, ConsumerInfo>(consumers);
            foreach (var id in consumerIds)
                map.Remove(id);
            foreach (var consumer in read.Values)
                map[consumer.Id] = new ConsumerInfo(consumer.Id, consumer.Username, consumer.CustomId);
            consumers = map.ToFrozenDictionary();
            setupChanged = true;
        }

        // The entities the running plugins own (their credentials), raw.
        var entities = new Dictionary<string, Dictionary<Guid, JsonObject>>(StringComparer.Ordinal);
        foreach (var schema in rows.Select(r => _runnable[r.Name]).Distinct().SelectMany(p => p.Entities))
        {
            if (schema.ReadOnRequest || entities.ContainsKey(schema.Name))
                continue;
            var kept = previous?.Entities.GetValueOrDefault(schema.Name);
            var ids = kept is null ? null : changes.Ids(schema.Name);
            if (kept is null || ids is null || !FewEnough(ids, kept.Count))
            {
                var read = new Dictionary<Guid, JsonObject>();
                await foreach (var row in AllAsync(schema, cancellationToken))
                    read[Guid.TryParse(EntityRecords.IdOf(row), out var id) ? id : Guid.NewGuid()] = row;
                entities[schema.Name] = read;
                setupChanged = true;
            }
            else if (ids.Count == 0)
                entities[schema.Name] = kept;
            else
            {
                var copy = new Dictionary<Guid, JsonObject>(kept);
                foreach (var id in ids)
                {
                    copy.Remove(id);
                    if (await _source!.GetAsync(schema, id.ToString(), cancellationToken) is { } row)
                        copy[id] = row;
                }
                entities[schema.Name] = copy;
                setupChanged = true;
            }
        }

        // The handlers: every handler reads the setup (a key index is shared by every key-auth instance),
        // so a new setup builds them all again.
        var rebuildAll = setupChanged || previous?.Setup is null || pluginIds is null;
        var setup = rebuildAll ? null : previous!.Setup;
        PluginSetup Setup() => setup ??= new PluginSetup(consumers, entities.ToDictionary(e => e.Key, e => (IReadOnlyList<JsonObject>)[.. e.Value.Values], StringComparer.Ordinal),
            pluginState, logger);
        var instances = new Dictionary<Guid, ScopedInstance>(rows.Count);
        var handlerProblems = new Dictionary<Guid, InvalidEntity>();
        foreach (var row in rows)
        {
            if (!rebuildAll && !pluginIds!.Contains(row.Id) && previous!.Instances.TryGetValue(row.Id, out var same))
            {
                instances[row.Id] = same;
                if (previous.HandlerProblems.TryGetValue(row.Id, out var problem))
                    handlerProblems[row.Id] = problem;
                continue;
            }
            var descriptor = _runnable[row.Name];
            var config = new PluginConfig(row.Id, row.Route?.Id, row.Service?.Id, row.Consumer?.Id, row.Config);
            if (descriptor.Handler is null)
                logger.LogError("plugin {Name} ({Id}) is configured but cannot run in this build; its routes answer 500 until it is removed or disabled", descriptor.Name, config.Id);
            PluginHandler handler;
            try
            {
                handler = descriptor.Handler?.Invoke(config, Setup()) ?? UnavailableHandler.Instance;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Failing closed: skipping an authentication plugin would open its routes.
                var problem = new InvalidEntity("plugins", row.Id.ToString(), $"{row.Name}: its configuration cannot be used ({e.Message}); its routes answer 500");
                Log(problem);
                handlerProblems[row.Id] = problem;
                handler = UnavailableHandler.Instance;
            }
            var instance = new PluginInstance(config.Id, descriptor.Name, handler,
                row.Protocols.Contains("http") || row.Protocols.Contains("grpc"), row.Protocols.Contains("https") || row.Protocols.Contains("grpcs"));
            instances[row.Id] = new ScopedInstance(descriptor, instance, config.Route, config.Service, config.Consumer);
        }

        // The chains: a changed instance makes stale the routes it applies to, before or after the change.
        var stale = rebuildAll || previous?.Chains is null ? null : StaleRoutes(previous, pluginIds!, instances, routing, staleRoutes);
        var unchanged = !rebuildAll && previous is not null && stale is not null && pluginIds!.All(id => !previous.Instances.ContainsKey(id) && !instances.ContainsKey(id));
        IReadOnlyList<ScopedInstance> list = unchanged ? previous!.Chains.Instances : [.. instances.Values];
        var chains = (previous?.Chains ?? PluginChains.Empty).Update(routing.RouteList, list, stale);
        return new ChainPart
        {
            Plugins = pluginRows,
            PluginProblems = pluginProblems,
            Consumers = consumers,
            ConsumerProblems = consumerProblems,
            Entities = entities,
            Setup = setup ?? previous?.Setup,
            Instances = instances,
            HandlerProblems = handlerProblems,
            Chains = chains,
            Problems = [.. pluginProblems.Values, .. consumerProblems.Values, .. handlerProblems.Values],
        };
    }

    /// <summary>
    /// The routes whose chain may differ from the previous one: those the router part changed, and those
    /// each changed instance applies to, as it was and as it is (its route, its service's routes). Null, for
    /// all, when one applies to every route (global, or scoped to a consumer only) or the router part changed whole.
    /// </summary>
    private static IReadOnlySet<Guid>? StaleRoutes(ChainPart previous, IReadOnlySet<Guid> changedPlugins, Dictionary<Guid, ScopedInstance> instances,
        RoutingPart routing, IReadOnlySet<Guid>? staleRoutes)
    {
        if (staleRoutes is null)
            return null;
        var stale = new HashSet<Guid>(staleRoutes);
        ILookup<Guid?, Guid>? byService = null;
        foreach (var id in changedPlugins)
        {
            foreach (var scope in new[] { previous.Instances.GetValueOrDefault(id), instances.GetValueOrDefault(id) })
            {
                if (scope is null)
                    continue;
                if (scope.Route is { } route)
                    stale.Add(route);
                else if (scope.Service is { } service)
                {
                    byService ??= routing.RouteList.ToLookup(r => r.ServiceId, r => r.Id);
                    stale.UnionWith(byService[service]);
                }
                else
                    return null;
            }
        }
        return stale;
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
