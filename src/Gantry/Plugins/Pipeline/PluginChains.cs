using System.Collections.Frozen;
using Gantry.Routing;

namespace Gantry.Plugins.Pipeline;

/// <summary>A plugin row as the chain builder reads it: its scope and its ready handler.</summary>
public sealed record ScopedInstance(PluginDescriptor Plugin, PluginInstance Instance, Guid? Route, Guid? Service, Guid? Consumer);

/// <summary>
/// Every route's plugin chain, resolved when the snapshot is built. Per plugin name the first instance
/// found in this order applies: route+service+consumer, route+consumer, service+consumer,
/// route+service, consumer, route, service, global. Routes without any applicable plugin have no chain,
/// so their requests pay nothing for the pipeline.
/// </summary>
public sealed class PluginChains
{
    public static PluginChains Empty { get; } = new(FrozenDictionary<Guid, PluginChain>.Empty, [], []);

    private readonly FrozenDictionary<Guid, PluginChain> _byRoute;

    // The instances by plugin name, highest priority first: kept so that a rebuild with the same instances resolves only the routes it must.
    private readonly List<NameIndex> _byName;

    private PluginChains(FrozenDictionary<Guid, PluginChain> byRoute, IReadOnlyList<ScopedInstance> instances, List<NameIndex> byName)
    {
        _byRoute = byRoute;
        Instances = instances;
        _byName = byName;
    }

    /// <summary>Every enabled instance of the snapshot, whether or not a route runs it.</summary>
    public IReadOnlyList<ScopedInstance> Instances { get; }

    /// <summary>How many routes have at least one plugin to run.</summary>
    public int Count => _byRoute.Count;

    public PluginChain? For(Guid route) => _byRoute.Count == 0 ? null : _byRoute.GetValueOrDefault(route);

    public static PluginChains Build(IEnumerable<RouteDefinition> routes, IReadOnlyList<ScopedInstance> instances) =>
        Empty.Update(routes, instances, null);

    /// <summary>
    /// The chains of <paramref name="routes"/> with <paramref name="instances"/>, resolving again only the routes
    /// in <paramref name="stale"/> (every route when null): the others keep the chain, or the absence of one, they
    /// have here. The caller names as stale every route whose chain the differences between these instances and
    /// this object's can change, and every route whose service changed.
    /// </summary>
    public PluginChains Update(IEnumerable<RouteDefinition> routes, IReadOnlyList<ScopedInstance> instances, IReadOnlySet<Guid>? stale)
    {
        if (instances.Count == 0)
            return Empty;
        var byName = ReferenceEquals(instances, Instances) ? _byName : instances
            .GroupBy(i => i.Plugin.Name, StringComparer.Ordinal)
            .Select(g => new NameIndex(g.First().Plugin, g.ToList()))
            .OrderByDescending(n => n.Plugin.Priority).ThenBy(n => n.Plugin.Name, StringComparer.Ordinal)
            .ToList();
        var chains = new Dictionary<Guid, PluginChain>();
        var slots = new List<PluginSlot>();
        foreach (var route in routes)
        {
            if (stale is not null && !stale.Contains(route.Id))
            {
                if (_byRoute.TryGetValue(route.Id, out var kept))
                    chains[route.Id] = kept;
                continue;
            }
            slots.Clear();
            foreach (var name in byName)
            {
                if (name.SlotFor(route.Id, route.ServiceId) is { } slot)
                    slots.Add(slot);
            }
            if (slots.Count > 0)
                chains[route.Id] = new PluginChain([.. slots]);
        }
        return new PluginChains(chains.ToFrozenDictionary(), instances, byName);
    }

    /// <summary>The instances of one plugin name, indexed by scope.</summary>
    private sealed class NameIndex
    {
        private readonly Dictionary<(Guid? Route, Guid? Service, Guid? Consumer), PluginInstance> _byScope = [];
        private readonly Dictionary<Guid, List<ScopedInstance>> _consumerScopedByRoute = [];
        private readonly Dictionary<Guid, List<ScopedInstance>> _consumerScopedByService = [];
        private readonly List<ScopedInstance> _consumerOnly = [];

        public NameIndex(PluginDescriptor plugin, List<ScopedInstance> instances)
        {
            Plugin = plugin;
            foreach (var i in instances)
            {
                _byScope[(i.Route, i.Service, i.Consumer)] = i.Instance;
                if (i.Consumer is null)
                    continue;
                if (i.Route is { } r)
                    Add(_consumerScopedByRoute, r, i);
                else if (i.Service is { } s)
                    Add(_consumerScopedByService, s, i);
                else
                    _consumerOnly.Add(i);
            }
        }

        public PluginDescriptor Plugin { get; }

        private static void Add(Dictionary<Guid, List<ScopedInstance>> index, Guid key, ScopedInstance instance)
        {
            if (!index.TryGetValue(key, out var list))
                index[key] = list = [];
            list.Add(instance);
        }

        public PluginSlot? SlotFor(Guid route, Guid? service)
        {
            var withoutConsumer = Find(route, service, null, consumerLevels: false);
            Dictionary<Guid, PluginInstance>? byConsumer = null;
            foreach (var candidate in ConsumerScoped(route, service))
            {
                var consumer = candidate.Consumer!.Value;
                if (byConsumer?.ContainsKey(consumer) == true)
                    continue;
                if (Find(route, service, consumer, consumerLevels: true) is { } winner)
                    (byConsumer ??= [])[consumer] = winner;
            }
            return withoutConsumer is null && byConsumer is null ? null : new PluginSlot(withoutConsumer, byConsumer?.ToFrozenDictionary());
        }

        /// <summary>The consumer-scoped instances that can apply to the route: on it, on its service, or on no route or service.</summary>
        private IEnumerable<ScopedInstance> ConsumerScoped(Guid route, Guid? service)
        {
            if (_consumerScopedByRoute.TryGetValue(route, out var onRoute))
            {
                foreach (var i in onRoute)
                {
                    if (i.Service is null || i.Service == service)
                        yield return i;
                }
            }
            if (service is { } s && _consumerScopedByService.TryGetValue(s, out var onService))
            {
                foreach (var i in onService)
                    yield return i;
            }
            foreach (var i in _consumerOnly)
                yield return i;
        }

        private PluginInstance? Find(Guid route, Guid? service, Guid? consumer, bool consumerLevels)
        {
            if (consumerLevels)
            {
                if (service is not null && Get(route, service, consumer) is { } rsc)
                    return rsc;
                if (Get(route, null, consumer) is { } rc)
                    return rc;
                if (service is not null && Get(null, service, consumer) is { } sc)
                    return sc;
            }
            if (service is not null && Get(route, service, null) is { } rs)
                return rs;
            if (consumerLevels && Get(null, null, consumer) is { } c)
                return c;
            return Get(route, null, null) ?? (service is not null ? Get(null, service, null) : null) ?? Get(null, null, null);
        }

        private PluginInstance? Get(Guid? route, Guid? service, Guid? consumer) => _byScope.GetValueOrDefault((route, service, consumer));
    }
}
