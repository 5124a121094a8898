using Gantry.Node;

namespace Gantry.Balancing;

/// <summary>What one probe or one proxied request says about an entry.</summary>
public enum HealthOutcome
{
    /// <summary>Neither a success nor a failure (a status in neither list, or the client gave up).</summary>
    Ignored,
    Success,
    HttpFailure,
    TcpFailure,
    Timeout,
}

/// <summary>
/// The health of one upstream's entries on this node, kept for as long as the upstream exists so that
/// rebuilding the configuration does not reset it. It owns the upstream's current <see cref="Balancer"/>:
/// a rebuild or a DNS change builds a new one, seeded from this state under the same lock that every
/// health change takes, so no change is lost in the swap. It also runs the upstream's background work:
/// active probes and the periodic re-resolution of target names.
/// </summary>
public sealed class UpstreamHealth : IAsyncDisposable
{
    private readonly object _lock = new();
    // By entry address (ip:port): whether it is down, and the consecutive outcomes counted toward a change.
    private readonly Dictionary<string, EntryState> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly TargetResolver _resolver;
    private readonly ILogger _logger;
    private Balancer _balancer;
    private UpstreamDefinition _definition;
    private IReadOnlyDictionary<string, string> _dnsErrors = new Dictionary<string, string>();
    private CancellationTokenSource? _background;
    private Task _backgroundTask = Task.CompletedTask;

    internal UpstreamHealth(UpstreamDefinition definition, TargetResolver resolver, ILogger logger)
    {
        _definition = definition;
        _resolver = resolver;
        _logger = logger;
        _balancer = Balancer.Create(Array.Empty<BalancerEntry>(), new BalancerSettings());
    }

    public Guid Id => _definition.Id;

    /// <summary>The balancer requests pick from; replaced as a whole, never changed in place except for health.</summary>
    public Balancer Balancer => Volatile.Read(ref _balancer);

    public UpstreamDefinition Definition => Volatile.Read(ref _definition);

    /// <summary>Why the upstream could not be built, when it could not; it then has no entries and every request gets 503.</summary>
    public string? ConfigurationError { get; private set; }

    /// <summary>Read by every proxied request of the upstream, so it is a field rather than a walk through the settings.</summary>
    public bool PassiveEnabled { get; private set; }

    /// <summary>The DNS error of a target whose name did not resolve, or null.</summary>
    public string? DnsError(string target)
    {
        var errors = Volatile.Read(ref _dnsErrors);
        return errors.TryGetValue(target, out var error) ? error : null;
    }

    /// <summary>
    /// Takes a new definition from a configuration rebuild: re-balances over its targets (names resolved
    /// through the cache), keeps the health of entries that remain, and restarts the background work
    /// when the health checks or the targets changed.
    /// </summary>
    internal async Task ApplyAsync(UpstreamDefinition definition, bool first, CancellationToken cancellationToken)
    {
        var previous = Definition;
        await RebuildAsync(definition, fromDnsRefresh: false, cancellationToken);
        if (first || previous.HealthChecksJson != definition.HealthChecksJson || !previous.Targets.SequenceEqual(definition.Targets))
            await RestartBackgroundAsync(definition);
    }

    /// <param name="fromDnsRefresh">
    /// A refresh re-balances the definition it started from; when a configuration rebuild has replaced
    /// that definition meanwhile, the refresh's result is stale and dropped.
    /// </param>
    private async Task RebuildAsync(UpstreamDefinition definition, bool fromDnsRefresh, CancellationToken cancellationToken)
    {
        Balancer balancer;
        string? error = null;
        Dictionary<string, string> dnsErrors = [];
        try
        {
            // A DNS refresh has just resolved every name again; a configuration rebuild uses the cache.
            (var entries, dnsErrors) = await _resolver.EntriesAsync(definition.Targets, refresh: false, cancellationToken);
            balancer = Balancer.Create(entries, definition.Settings);
        }
        catch (BalancerConfigurationException e)
        {
            // One bad upstream must not keep the others from being served: it answers 503 until fixed.
            error = e.Message;
            _logger.LogError("upstream '{Upstream}' cannot be balanced ({Message}); its requests get 503 until it is fixed", definition.Name, e.Message);
            balancer = Balancer.Create(Array.Empty<BalancerEntry>(), new BalancerSettings());
        }
        var previousErrors = Volatile.Read(ref _dnsErrors);
        foreach (var (target, message) in dnsErrors)
        {
            // Said once when it starts failing, not at every rebuild while it goes on failing.
            if (!previousErrors.ContainsKey(target))
                _logger.LogWarning("upstream '{Upstream}': target '{Target}' is not used: {Message}", definition.Name, target, message);
        }
        lock (_lock)
        {
            if (fromDnsRefresh && !ReferenceEquals(definition, _definition))
                return;
            var live = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in balancer.Targets)
            {
                live.Add(entry.Address);
                if (!_entries.TryGetValue(entry.Address, out var state))
                    _entries[entry.Address] = state = new EntryState();
                if (state.Unhealthy)
                    balancer.Health.SetHealthy(entry.Index, false);
            }
            foreach (var gone in _entries.Keys.Where(a => !live.Contains(a)).ToList())
                _entries.Remove(gone);
            Volatile.Write(ref _definition, definition);
            Volatile.Write(ref _dnsErrors, dnsErrors);
            ConfigurationError = error;
            PassiveEnabled = definition.HealthChecks.PassiveEnabled;
            if (balancer is LatencyBalancer latency)
                latency.Inherit(Balancer);
            Volatile.Write(ref _balancer, balancer);
        }
    }

    private async Task RestartBackgroundAsync(UpstreamDefinition definition)
    {
        await StopBackgroundAsync();
        var stop = new CancellationTokenSource();
        _background = stop;
        var work = new List<Task>();
        if (definition.HealthChecks.ActiveEnabled)
            work.Add(InlineIo.RunOffSocketThreads(() => new ActiveHealthChecker(this, definition.HealthChecks, _logger).RunAsync(stop.Token)));
        if (definition.Targets.Any(t => TargetResolver.IsName(t.Target)))
            work.Add(InlineIo.RunOffSocketThreads(() => RefreshDnsAsync(stop.Token)));
        _backgroundTask = Task.WhenAll(work);
    }

    /// <summary>Resolves the target names again every TTL and re-balances when an address came or went.</summary>
    private async Task RefreshDnsAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TargetResolver.Ttl);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var definition = Definition;
                var (entries, errors) = await _resolver.EntriesAsync(definition.Targets, refresh: true, cancellationToken);
                var current = Balancer.Targets;
                bool same = entries.Count == current.Count && errors.Count == Volatile.Read(ref _dnsErrors).Count;
                for (int i = 0; same && i < entries.Count; i++)
                    same = string.Equals(entries[i].Address, current[i].Address, StringComparison.OrdinalIgnoreCase);
                if (!same)
                    await RebuildAsync(definition, fromDnsRefresh: true, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is BalancerConfigurationException)
        {
            _logger.LogError("upstream '{Upstream}': DNS refresh stopped: {Message}", Definition.Name, e.Message);
        }
    }

    private async Task StopBackgroundAsync()
    {
        if (_background is { } stop)
        {
            await stop.CancelAsync();
            await _backgroundTask.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.Dispose();
            _background = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopBackgroundAsync());

    /// <summary>The current entries of a configured target, each with whether it is healthy on this node.</summary>
    public IReadOnlyList<(BalancerTarget Entry, bool Healthy)> EntriesOf(string target)
    {
        var balancer = Balancer;
        var entries = new List<(BalancerTarget, bool)>();
        foreach (var entry in balancer.Targets)
        {
            if (string.Equals(entry.Target, target, StringComparison.OrdinalIgnoreCase))
                entries.Add((entry, balancer.Health.IsHealthy(entry.Index)));
        }
        return entries;
    }

    // ---- health changes ----

    /// <summary>Marks every entry of a target (by its configured address) up or down, as the Admin API asks. False when the target has no entry here.</summary>
    public bool MarkTarget(string target, bool healthy)
    {
        bool any = false;
        lock (_lock)
        {
            foreach (var entry in Balancer.Targets)
            {
                if (string.Equals(entry.Target, target, StringComparison.OrdinalIgnoreCase))
                {
                    Set(entry, healthy, "set through the Admin API");
                    any = true;
                }
            }
        }
        return any;
    }

    /// <summary>Marks one address of a target up or down. False when the target has no such address here.</summary>
    public bool MarkAddress(string target, string address, bool healthy)
    {
        lock (_lock)
        {
            var balancer = Balancer;
            int index = balancer.IndexOf(address);
            if (index < 0 || !string.Equals(balancer.Targets[index].Target, target, StringComparison.OrdinalIgnoreCase))
                return false;
            Set(balancer.Targets[index], healthy, "set through the Admin API");
            return true;
        }
    }

    /// <summary>Counts a proxied request's outcome. Passive checks only mark down: a target out of rotation gets no traffic to recover with.</summary>
    public void ReportPassive(BalancerTarget entry, HealthOutcome outcome)
    {
        var checks = Definition.HealthChecks;
        if (outcome == HealthOutcome.Ignored)
            return;
        Count(entry, outcome, 0, checks.PassiveHttpFailures, checks.PassiveTcpFailures, checks.PassiveTimeouts, "passive");
    }

    internal void ReportActive(BalancerTarget entry, HealthOutcome outcome)
    {
        var checks = Definition.HealthChecks;
        if (outcome == HealthOutcome.Ignored)
            return;
        Count(entry, outcome, checks.ActiveSuccesses, checks.ActiveHttpFailures, checks.ActiveTcpFailures, checks.ActiveTimeouts, "active");
    }

    /// <summary>
    /// A success clears the failure counts and counts toward recovery; a failure clears the successes
    /// and counts toward its own limit. A limit of 0 never trips.
    /// </summary>
    private void Count(BalancerTarget entry, HealthOutcome outcome, int successes, int httpFailures, int tcpFailures, int timeouts, string source)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(entry.Address, out var state))
                return;
            switch (outcome)
            {
                case HealthOutcome.Success:
                    state.HttpFailures = state.TcpFailures = state.Timeouts = 0;
                    state.Successes++;
                    if (state.Unhealthy && successes > 0 && state.Successes >= successes)
                        Set(entry, true, $"{state.Successes} {source} successes");
                    return;
                case HealthOutcome.HttpFailure:
                    Fail(entry, state, ref state.HttpFailures, httpFailures, source, "HTTP failures");
                    return;
                case HealthOutcome.TcpFailure:
                    Fail(entry, state, ref state.TcpFailures, tcpFailures, source, "TCP failures");
                    return;
                case HealthOutcome.Timeout:
                    Fail(entry, state, ref state.Timeouts, timeouts, source, "timeouts");
                    return;
            }
        }
    }

    private void Fail(BalancerTarget entry, EntryState state, ref int count, int limit, string source, string what)
    {
        state.Successes = 0;
        if (++count >= limit && limit > 0 && !state.Unhealthy)
            Set(entry, false, $"{count} {source} {what}");
    }

    /// <summary>Records the change and applies it to the current balancer; the caller holds the lock.</summary>
    private void Set(BalancerTarget entry, bool healthy, string why)
    {
        if (!_entries.TryGetValue(entry.Address, out var state))
            return;
        bool changed = state.Unhealthy == healthy;
        state.Unhealthy = !healthy;
        state.Successes = state.HttpFailures = state.TcpFailures = state.Timeouts = 0;
        var balancer = Balancer;
        int index = balancer.IndexOf(entry.Address);
        if (index >= 0)
            balancer.Health.SetHealthy(index, healthy);
        if (changed)
            _logger.LogWarning("upstream '{Upstream}': {Address} ({Target}) is {Health} ({Why})", Definition.Name, entry.Address, entry.Target,
                healthy ? "healthy" : "unhealthy", why);
    }

    private sealed class EntryState
    {
        public bool Unhealthy;
        public int Successes;
        public int HttpFailures;
        public int TcpFailures;
        public int Timeouts;
    }
}
