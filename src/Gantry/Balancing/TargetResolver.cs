using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Gantry.Balancing;

/// <summary>
/// Resolves target host names to the addresses the balancer spreads over. .NET's resolver does not
/// report a record's TTL, so an answer is kept for a fixed <see cref="Ttl"/> of 30 seconds: short enough
/// to follow a DNS change within a minute, long enough that rebuilds and refreshes reuse it.
/// </summary>
public sealed class TargetResolver
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Resolution> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Counters> _stats = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _clock;

    public TargetResolver(TimeProvider? clock = null) => _clock = clock ?? TimeProvider.System;

    /// <summary>A name's addresses (sorted, so entries keep their order across refreshes), or the error that stopped it.</summary>
    public sealed record Resolution(IReadOnlyList<IPAddress> Addresses, string? Error, DateTimeOffset At);

    public async Task<Resolution> ResolveAsync(string host, bool refresh, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        if (!refresh && _cache.TryGetValue(host, out var cached) && now - cached.At < Ttl)
            return cached;
        Resolution resolution;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, timeout.Token);
            var usable = addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                .Distinct().OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
            resolution = new Resolution(usable, usable.Count == 0 ? $"'{host}' has no A or AAAA record" : null, now);
        }
        catch (SocketException e)
        {
            resolution = new Resolution([], $"cannot resolve '{host}': {e.Message}", now);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            resolution = new Resolution([], $"resolving '{host}' took more than {Timeout.TotalSeconds} s", now);
        }
        _cache[host] = resolution;
        var stats = _stats.GetOrAdd(host, _ => new Counters());
        if (resolution.Error is null)
            Interlocked.Increment(ref stats.Succeeded);
        else
            Interlocked.Increment(ref stats.Failed);
        return resolution;
    }

    /// <summary>What each name resolved to last and how often resolving it succeeded and failed, for GET /status/dns.</summary>
    public IReadOnlyList<(string Host, Resolution Last, long Succeeded, long Failed)> Statistics()
    {
        var result = new List<(string, Resolution, long, long)>();
        foreach (var (host, last) in _cache)
        {
            var stats = _stats.GetOrAdd(host, _ => new Counters());
            result.Add((host, last, Volatile.Read(ref stats.Succeeded), Volatile.Read(ref stats.Failed)));
        }
        return result.OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
    }

    private sealed class Counters
    {
        public long Succeeded;
        public long Failed;
    }

    /// <summary>
    /// The balancer entries of an upstream's targets: an IP target is one entry, a name one entry per
    /// address. A name that does not resolve gives none and is reported in <c>DnsErrors</c> by target.
    /// An address reached through two targets is kept once, under the first.
    /// </summary>
    public async Task<(List<BalancerEntry> Entries, Dictionary<string, string> DnsErrors)> EntriesAsync(
        IReadOnlyList<(string Target, int Weight)> targets, bool refresh, CancellationToken cancellationToken)
    {
        var entries = new List<BalancerEntry>(targets.Count);
        var errors = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (target, weight) in targets)
        {
            var (host, port) = BalancerTarget.Split(target);
            if (IPAddress.TryParse(host, out _))
            {
                if (seen.Add(target))
                    entries.Add(new BalancerEntry(target, target, weight));
                continue;
            }
            var resolution = await ResolveAsync(host, refresh, cancellationToken);
            if (resolution.Error is { } error)
            {
                errors[target] = error;
                continue;
            }
            foreach (var address in resolution.Addresses)
            {
                var entry = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";
                if (seen.Add(entry))
                    entries.Add(new BalancerEntry(target, entry, weight));
            }
        }
        return (entries, errors);
    }

    /// <summary>True when a target's host is a name that goes through DNS.</summary>
    public static bool IsName(string target)
    {
        int colon = target.LastIndexOf(':');
        var host = (colon > 0 ? target[..colon] : target).Trim('[', ']');
        return !IPAddress.TryParse(host, out _);
    }
}
