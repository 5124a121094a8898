using System.Buffers;
using System.Collections.Frozen;
using System.Text;

namespace Gantry.Balancing;

/// <summary>
/// An immutable balancer for one upstream, built off the request path from its targets and settings.
/// Only health flags and, for least-connections, active counts change after it is built.
/// </summary>
public abstract class Balancer
{
    private readonly FrozenDictionary<string, int> _indexByAddress;

    private protected Balancer(BalancerTarget[] targets, double threshold)
    {
        Targets = targets;
        TargetArray = targets;
        Health = new TargetHealth(targets, threshold);
        var index = new Dictionary<string, int>(targets.Length, StringComparer.OrdinalIgnoreCase);
        foreach (var target in targets)
        {
            if (!index.TryAdd(target.Address, target.Index))
                throw new BalancerConfigurationException(
                    $"target '{target.Address}' is listed twice; each address may appear once per upstream");
        }
        _indexByAddress = index.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<BalancerTarget> Targets { get; }

    /// <summary>The same targets as an array, so pickers index them without an interface call.</summary>
    private protected BalancerTarget[] TargetArray { get; }

    public TargetHealth Health { get; }

    public abstract BalancerAlgorithm Algorithm { get; }

    /// <summary>Builds the balancer the settings name. Targets keep the order given: it defines their indexes.</summary>
    public static Balancer Create(IReadOnlyList<(string Address, int Weight)> targets, BalancerSettings settings)
    {
        var entries = new BalancerEntry[targets.Count];
        for (int i = 0; i < entries.Length; i++)
            entries[i] = new BalancerEntry(targets[i].Address, targets[i].Address, targets[i].Weight);
        return Create(entries, settings);
    }

    /// <summary>Builds the balancer over resolved entries; a target whose name resolved to several addresses has one entry each.</summary>
    public static Balancer Create(IReadOnlyList<BalancerEntry> entries, BalancerSettings settings)
    {
        var built = new BalancerTarget[entries.Count];
        for (int i = 0; i < built.Length; i++)
            built[i] = BalancerTarget.Create(entries[i], i);
        return settings.Algorithm switch
        {
            BalancerAlgorithm.RoundRobin => new RoundRobinBalancer(built, settings.Seed, settings.Threshold),
            BalancerAlgorithm.ConsistentHashing => new ConsistentHashingBalancer(built, settings.Slots, settings.Threshold),
            BalancerAlgorithm.LeastConnections => new LeastConnectionsBalancer(built, settings.Threshold),
            BalancerAlgorithm.Latency => new LatencyBalancer(built, settings.Threshold),
            _ => throw new BalancerConfigurationException($"algorithm {settings.Algorithm} is not supported"),
        };
    }

    /// <summary>The index of the target with this address, or -1; for health updates that name targets.</summary>
    public int IndexOf(string address) => _indexByAddress.TryGetValue(address, out int i) ? i : -1;

    /// <summary>
    /// Picks a healthy target, or null when none is. <paramref name="hashKey"/> is read only by
    /// consistent-hashing; an empty key there means the request had no hash value.
    /// Under least-connections this does not count a connection: use <see cref="Acquire(ReadOnlySpan{byte})"/>.
    /// </summary>
    public abstract BalancerTarget? Pick(ReadOnlySpan<byte> hashKey);

    public BalancerTarget? Pick() => Pick(ReadOnlySpan<byte>.Empty);

    /// <summary>Picks by a string key, hashed as UTF-8 without allocating for keys of common size.</summary>
    public BalancerTarget? Pick(string? hashKey)
    {
        if (string.IsNullOrEmpty(hashKey))
            return Pick(ReadOnlySpan<byte>.Empty);
        return WithUtf8(hashKey, this, static (self, bytes) => self.Pick(bytes));
    }

    /// <summary>Picks a target and holds it until the lease is disposed; least-connections counts it as active meanwhile.</summary>
    public virtual BalancerLease Acquire(ReadOnlySpan<byte> hashKey) => new(Pick(hashKey), null);

    public BalancerLease Acquire() => Acquire(ReadOnlySpan<byte>.Empty);

    public BalancerLease Acquire(string? hashKey)
    {
        if (string.IsNullOrEmpty(hashKey))
            return Acquire(ReadOnlySpan<byte>.Empty);
        return WithUtf8(hashKey, this, static (self, bytes) => self.Acquire(bytes));
    }

    private delegate T Utf8Func<T>(Balancer self, ReadOnlySpan<byte> bytes);

    private static T WithUtf8<T>(string value, Balancer self, Utf8Func<T> func)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        // Header values and ids fit on the stack; an unusually long key borrows a pooled buffer instead.
        if (max <= 512)
        {
            Span<byte> buffer = stackalloc byte[max];
            int n = Encoding.UTF8.GetBytes(value, buffer);
            return func(self, buffer[..n]);
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int n = Encoding.UTF8.GetBytes(value, rented);
            return func(self, rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
