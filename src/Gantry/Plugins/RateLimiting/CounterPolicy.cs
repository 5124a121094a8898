using System.Text.Json.Nodes;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// A plugin instance's <c>policy</c>: the counter store it names, and what <c>fault_tolerant</c> makes of
/// the store's failures: true lets the request through uncounted, false answers 500. A failure is
/// logged once, and again once the store answers.
/// </summary>
public sealed class CounterPolicy
{
    private readonly string _plugin;
    private readonly bool _faultTolerant;
    private readonly ILogger _logger;
    private int _failing;

    private CounterPolicy(string plugin, ICounterStore store, bool faultTolerant, ILogger logger)
    {
        _plugin = plugin;
        Store = store;
        _faultTolerant = faultTolerant;
        _logger = logger;
    }

    public ICounterStore Store { get; }

    /// <summary>
    /// The store of the instance's <c>policy</c> (local, redis with the <c>redis</c> record, cluster in
    /// <paramref name="clusterTable"/>). A node without a database refuses cluster when it validates the
    /// instance; one that still meets it (a cache of an older configuration) counts locally and says so.
    /// </summary>
    public static CounterPolicy For(string plugin, PluginConfig config, PluginSetup setup, LocalCounters local, string clusterTable)
    {
        var policy = config.Text("policy") ?? "local";
        ICounterStore store = local;
        if (policy == "redis")
            store = new RedisCounters(config.Values["redis"] as JsonObject, setup.Node.Redis);
        else if (policy == "cluster" && setup.Node.Database is { } database)
            store = new DatabaseCounters(database, clusterTable);
        else if (policy == "cluster")
            setup.Logger.LogWarning("{Plugin}: the cluster policy needs a database and this node has none; this instance counts per node, as the local policy does", plugin);
        // sync_rate (rate-limiting only; -1 by default) batches the shared store's counts on a timer.
        if (store != local && config.Number("sync_rate", -1) is var seconds and > 0)
            store = setup.Node.SyncedCounters.For(config.Id, store, seconds, setup.Logger);
        return new CounterPolicy(plugin, store, config.Flag("fault_tolerant", true), setup.Logger);
    }

    /// <summary>The windows' counts; null when the store failed, and then the request was answered 500 unless fault_tolerant.</summary>
    public ValueTask<long[]?> GetAsync(PluginRequest request, CounterScope scope, CounterWindow[] windows) =>
        AskAsync(request, () => Store.GetAsync(scope, windows));

    /// <summary>
    /// Counts the request first and returns the counts with it; null when the store failed, and then the
    /// request was answered 500 unless fault_tolerant.
    /// </summary>
    public ValueTask<long[]?> AddAsync(PluginRequest request, CounterScope scope, CounterWindow[] windows, long amount) =>
        AskAsync(request, () => Store.AddAsync(scope, windows, amount));

    private async ValueTask<long[]?> AskAsync(PluginRequest request, Func<ValueTask<long[]>> ask)
    {
        try
        {
            var counts = await ask();
            Answered();
            return counts;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Failed(error);
            if (!_faultTolerant)
                request.Exit(500, "An unexpected error occurred");
            return null;
        }
    }

    /// <summary>Adds to the counts without deciding anything (a passed request, a refused one taken back): a failure is only logged.</summary>
    public async ValueTask IncrementAsync(CounterScope scope, CounterWindow[] windows, long amount)
    {
        try
        {
            await Store.AddAsync(scope, windows, amount);
            Answered();
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Failed(error);
        }
    }

    private void Answered()
    {
        if (Volatile.Read(ref _failing) == 1 && Interlocked.Exchange(ref _failing, 0) == 1)
            _logger.LogInformation("{Plugin}: {Store} answers again", _plugin, Store.Description);
    }

    private void Failed(Exception error)
    {
        if (Interlocked.Exchange(ref _failing, 1) == 0)
            _logger.LogError("{Plugin}: {Store} failed: {Error}", _plugin, Store.Description, error.Message);
    }
}
