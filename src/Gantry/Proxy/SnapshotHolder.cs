using Gantry.Node;
using Gantry.Store;

namespace Gantry.Proxy;

/// <summary>
/// Holds the current <see cref="ConfigSnapshot"/> and keeps it fresh: every db_update_frequency it reads
/// the cluster events written since the last build (by this node's Admin API or any other node
/// sharing the database) and, when there are new ones, rebuilds the parts of the snapshot they touch
/// off the request path and swaps the reference. When the database cannot be reached it keeps serving the last snapshot and says so.
/// </summary>
public sealed class SnapshotHolder(SnapshotBuilder builder, EntityDao dao, TimeSpan frequency, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private ConfigSnapshot _current = ConfigSnapshot.Empty;
    private readonly ClusterEventCursor _events = new(dao, "invalidations", EventWindow);
    private DateTime _nextCleanup = DateTime.MinValue;
    private Task? _loop;

    /// <summary>How far back events are re-read: longer than any Admin API write transaction stays open.</summary>
    private static readonly TimeSpan EventWindow = TimeSpan.FromSeconds(30);

    public ConfigSnapshot Current => Volatile.Read(ref _current);

    /// <summary>False while the last refresh failed to reach the database; the last snapshot is still served.</summary>
    public bool DatabaseReachable { get; private set; } = true;

    /// <summary>Why the last refresh failed, or null when it succeeded.</summary>
    public string? LastError { get; private set; }

    // After a failed refresh nothing about the served snapshot can be trusted to be current: rebuild it all.
    private bool _rebuildAll = true;

    // False on a node that serves no proxy (a control plane): the loop only deletes expired events, which
    // every node sharing the database takes its turn at.
    private bool _build = true;

    /// <summary>
    /// Builds the first snapshot, then keeps it fresh. Without <paramref name="build"/> nothing is built
    /// (<see cref="Current"/> stays empty) and the loop only deletes expired cluster events.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken, bool build = true)
    {
        _build = build;
        if (build)
            await RefreshAsync(force: true, cancellationToken);
        LastError = null;
        _loop = InlineIo.RunOffSocketThreads(LoopAsync);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(frequency);
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            try
            {
                if (_build)
                    await RefreshAsync(force: _rebuildAll, _stop.Token);
                else
                    await DeleteExpiredEventsAsync(_stop.Token);
                if (!DatabaseReachable)
                    logger.LogWarning("the database is reachable again; configuration updates resume");
                DatabaseReachable = true;
                LastError = null;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (!_build)
            {
                // The next turn tries again; a control plane reports its database's health on its own.
                logger.LogDebug("cannot delete expired cluster events: {Message}", e.Message);
            }
            catch (Exception e)
            {
                _rebuildAll = true;
                // The store already turns every connection and I/O failure into this; anything else failed the build.
                var unreachable = e is DatabaseUnavailableException;
                if (LastError is null)
                {
                    if (unreachable)
                        logger.LogError("cannot refresh the configuration ({Message}); serving the last one (version {Version}) until the database answers", e.Message, Current.Version);
                    else
                        logger.LogError(e, "cannot build the configuration; serving the last one (version {Version}) and rebuilding it whole at the next refresh", Current.Version);
                }
                DatabaseReachable = !unreachable;
                LastError = e.Message;
            }
        }
    }

    /// <summary>
    /// Reads the events not applied yet and rebuilds what they touch (everything when forced). The events
    /// count as applied only once the snapshot holding their changes is swapped in: if the build fails,
    /// they are read again, and the next refresh rebuilds everything.
    /// </summary>
    private async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        var batch = await _events.PeekAsync(cancellationToken);
        var changed = SnapshotChanges.FromEvents(batch.Events.Select(e => e.Data));
        if (!force && (changed.IsEmpty || !builder.Feeds(changed)))
        {
            _events.Acknowledge(batch);
            return;
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = await builder.BuildAsync(Current.Version + 1, force ? null : Current, force ? null : changed, cancellationToken);
        Volatile.Write(ref _current, snapshot);
        _events.Acknowledge(batch);
        _rebuildAll = false;
        var invalid = snapshot.Invalid.All.Count();
        logger.LogInformation("configuration version {Version} built in {Milliseconds} ms ({Routes} routes, {Chains} with plugins, {Invalid} invalid entities skipped; changed: {Changed})",
            snapshot.Version, clock.ElapsedMilliseconds, snapshot.Router.RouteCount, snapshot.Plugins.Count, invalid, force ? "all" : changed);
        await DeleteExpiredEventsAsync(cancellationToken);
    }

    /// <summary>
    /// Builds a whole snapshot from <paramref name="source"/> without serving it, for a node without a
    /// database: it swaps the snapshot in with <see cref="Install"/> together with the store it came from.
    /// Callers never build two at once.
    /// </summary>
    public async Task<ConfigSnapshot> BuildFromAsync(EntityDao source, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = await builder.BuildAsync(Current.Version + 1, null, null, cancellationToken, source);
        logger.LogInformation("configuration version {Version} built in {Milliseconds} ms ({Routes} routes, {Chains} with plugins, {Invalid} invalid entities skipped)",
            snapshot.Version, clock.ElapsedMilliseconds, snapshot.Router.RouteCount, snapshot.Plugins.Count, snapshot.Invalid.All.Count());
        return snapshot;
    }

    /// <summary>
    /// Rebuilds only the parts of the current snapshot that <paramref name="changed"/> entity types feed, reading
    /// <paramref name="source"/> (a data plane's database after a delta was written into it), for
    /// <see cref="Install"/>. The rows the delta wrote are named by the invalidation events its writes left
    /// in <paramref name="source"/>, which must be read before they are deleted; a changed type no event
    /// names is read whole. Callers never build two at once.
    /// </summary>
    public async Task<ConfigSnapshot> BuildChangedFromAsync(EntityDao source, IReadOnlySet<string> changed, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var events = await source.EventsSinceAsync(ClusterEvents.Invalidations, 0, cancellationToken);
        var changes = SnapshotChanges.FromEvents(events.Select(e => e.Data));
        foreach (var type in changed.Where(t => !changes.Touches(t)))
            changes.Add(type, null);
        var snapshot = await builder.BuildAsync(Current.Version + 1, Current, changes, cancellationToken, source);
        logger.LogInformation("configuration version {Version} built in {Milliseconds} ms ({Routes} routes, {Chains} with plugins; changed: {Changed})",
            snapshot.Version, clock.ElapsedMilliseconds, snapshot.Router.RouteCount, snapshot.Plugins.Count, changes);
        return snapshot;
    }

    /// <summary>Serves <paramref name="snapshot"/> from now on; requests already running keep the one they started with.</summary>
    public void Install(ConfigSnapshot snapshot) => Volatile.Write(ref _current, snapshot);

    /// <summary>Expired events are deleted by whichever node gets there, at most once a minute per node.</summary>
    private async Task DeleteExpiredEventsAsync(CancellationToken cancellationToken)
    {
        if (DateTime.UtcNow < _nextCleanup)
            return;
        _nextCleanup = DateTime.UtcNow.AddMinutes(1);
        await dao.Events.DeleteExpiredAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
