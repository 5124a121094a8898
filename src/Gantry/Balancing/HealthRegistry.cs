using System.Collections.Concurrent;

namespace Gantry.Balancing;

/// <summary>
/// The node's health state for every upstream, by upstream id. Configuration rebuilds hand each
/// upstream's new definition here and get back the <see cref="UpstreamHealth"/> that keeps its health,
/// its balancer and its background checks across rebuilds. Health is per node, as in Kong: probes and
/// proxied traffic of this node decide it; only manual changes reach the other nodes (see <see cref="HealthEvents"/>).
/// </summary>
public sealed class HealthRegistry(Guid nodeId, ILogger logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, UpstreamHealth> _upstreams = new();
    private readonly SemaphoreSlim _applying = new(1, 1);

    public Guid NodeId { get; } = nodeId;

    public TargetResolver Resolver { get; } = new();

    public UpstreamHealth? Find(Guid upstreamId) => _upstreams.GetValueOrDefault(upstreamId);

    /// <summary>The health of every upstream of the current configuration.</summary>
    public IEnumerable<UpstreamHealth> All => _upstreams.Values;

    /// <summary>Applies the upstreams of a rebuilt configuration; upstreams no longer in it stop their checks and lose their state.</summary>
    public async Task<IReadOnlyDictionary<Guid, UpstreamHealth>> ApplyAsync(IReadOnlyList<UpstreamDefinition> definitions, CancellationToken cancellationToken)
    {
        // Rebuilds normally come one at a time; the lock makes sure two never interleave their swaps.
        await _applying.WaitAsync(cancellationToken);
        try
        {
            var applied = new Dictionary<Guid, UpstreamHealth>(definitions.Count);
            foreach (var definition in definitions)
            {
                bool first = !_upstreams.TryGetValue(definition.Id, out var health);
                health ??= _upstreams[definition.Id] = new UpstreamHealth(definition, Resolver, logger);
                await health.ApplyAsync(definition, first, cancellationToken);
                applied[definition.Id] = health;
            }
            foreach (var (id, gone) in _upstreams)
            {
                if (!applied.ContainsKey(id) && _upstreams.TryRemove(id, out _))
                    await gone.DisposeAsync();
            }
            return applied;
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>Applies a manual change to this node's state; false when this node does not know the upstream, target or address.</summary>
    public bool Apply(HealthChange change)
    {
        if (Find(change.UpstreamId) is not { } health)
            return false;
        return change.Address is { } address
            ? health.MarkAddress(change.Target, address, change.Healthy)
            : health.MarkTarget(change.Target, change.Healthy);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var health in _upstreams.Values)
            await health.DisposeAsync();
        _upstreams.Clear();
    }
}
