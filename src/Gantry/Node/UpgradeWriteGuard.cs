using Gantry.Admin;
using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.Node;

/// <summary>
/// Refuses Admin API writes while this node's release has migrations pending (between 'migrations up'
/// and 'migrations finish'): nodes of the previous release still serve traffic from the same database,
/// and cannot read what only the new release writes. Nodes of the previous release see the new
/// migrations as unknown, not pending, so they keep accepting writes.
/// </summary>
internal sealed class UpgradeWriteGuard
{
    /// <summary>How stale the answer may be: 'migrations finish' reaches running nodes within this time.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<CancellationToken, Task<IReadOnlyList<SubsystemMigrations>>> _readPending;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private Checked? _last;
    private Task<Checked>? _refresh;

    public UpgradeWriteGuard(Func<CancellationToken, Task<IReadOnlyList<SubsystemMigrations>>> readPending, TimeProvider time, ILogger logger)
    {
        _readPending = readPending;
        _time = time;
        _logger = logger;
    }

    public static UpgradeWriteGuard For(IDatabase database, IReadOnlyList<Subsystem> subsystems, ILogger logger)
    {
        var store = new MigrationStateStore(database);
        return new UpgradeWriteGuard(
            async ct => MigrationStatus.Classify(subsystems, await store.ReadAsync(ct)).Pending,
            TimeProvider.System,
            logger);
    }

    /// <summary>
    /// Read requests pass without touching the database; a write waits at most for one shared read of the
    /// migration state, and only when the last one is older than <see cref="MaxAge"/>.
    /// </summary>
    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var method = http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            await next(http);
            return;
        }
        var pending = await PendingAsync(http.RequestAborted);
        if (pending.Count == 0)
        {
            await next(http);
            return;
        }
        await AdminJson.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, AdminJson.Error(12, "operation unsupported",
            $"Gantry {GantryInfo.Version} has pending migrations ({MigrationRunner.Describe(pending)}): the database is between "
            + "'gantry migrations up' and 'gantry migrations finish', and nodes of the previous release cannot read what this release writes. "
            + "Write through the previous release's nodes, or run 'gantry migrations finish' once none of them is left", null));
    }

    public async Task<IReadOnlyList<SubsystemMigrations>> PendingAsync(CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && _time.GetUtcNow() - last.At < MaxAge)
            return last.Pending;
        Task<Checked> refresh;
        lock (_gate)
        {
            if (_refresh is null || _refresh.IsCompleted)
                _refresh = RefreshAsync();
            refresh = _refresh;
        }
        try
        {
            return (await refresh.WaitAsync(cancellationToken)).Pending;
        }
        catch (Exception e) when (e is DatabaseUnavailableException or OperationCanceledException or System.Data.Common.DbException && !cancellationToken.IsCancellationRequested)
        {
            // The write itself needs the database: when it cannot be read, the last answer stands, and
            // without one the request goes on to fail (or not) on its own.
            _logger.LogWarning("cannot read the migration state to guard an Admin API write: {Message}", e.Message);
            return last?.Pending ?? [];
        }
    }

    private async Task<Checked> RefreshAsync()
    {
        using var timeout = new CancellationTokenSource(ReadTimeout);
        var pending = await _readPending(timeout.Token);
        var result = new Checked(pending, _time.GetUtcNow());
        Volatile.Write(ref _last, result);
        return result;
    }

    private sealed record Checked(IReadOnlyList<SubsystemMigrations> Pending, DateTimeOffset At);
}
