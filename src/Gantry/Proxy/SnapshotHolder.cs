using Gantry.Store;

namespace Gantry.Proxy;

/// <summary>
/// Holds the current <see cref="ConfigSnapshot"/> and keeps it fresh: every db_update_frequency it asks
/// the database whether cluster events were written since the last build (by this node's Admin API or
/// any other node sharing the database) and, if so, rebuilds off the request path and swaps the
/// reference. When the database cannot be reached it keeps serving the last snapshot and says so.
/// </summary>
public sealed class SnapshotHolder(SnapshotBuilder builder, IDatabase database, TimeSpan frequency, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private ConfigSnapshot _current = ConfigSnapshot.Empty;
    private double _lastEvent = double.NaN;
    private Task? _loop;

    public ConfigSnapshot Current => Volatile.Read(ref _current);

    /// <summary>False while the last refresh failed to reach the database; the last snapshot is still served.</summary>
    public bool DatabaseReachable { get; private set; } = true;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(force: true, cancellationToken);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(frequency);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            try
            {
                await RefreshAsync(force: false, _stop.Token);
                if (!DatabaseReachable)
                    logger.LogWarning("the database is reachable again; configuration updates resume");
                DatabaseReachable = true;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (DatabaseReachable)
                    logger.LogError("cannot refresh the configuration ({Message}); serving the last one (version {Version}) until the database answers", e.Message, Current.Version);
                DatabaseReachable = false;
            }
        }
    }

    private async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        double latest;
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            // Only entity changes rebuild; manual health changes travel on their own channel (HealthEvents).
            command.CommandText = "SELECT coalesce(max(at), 0) FROM cluster_events WHERE channel = 'invalidations'";
            latest = Convert.ToDouble(await command.ExecuteScalarAsync(cancellationToken));
        }
        if (!force && latest.Equals(_lastEvent))
            return;
        var snapshot = await builder.BuildAsync(Current.Version + 1, cancellationToken);
        Volatile.Write(ref _current, snapshot);
        _lastEvent = latest;
        logger.LogInformation("configuration version {Version} built ({Routes} routes)", snapshot.Version, snapshot.Router.RouteCount);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
