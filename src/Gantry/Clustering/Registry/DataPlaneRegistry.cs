using Gantry.Store;

namespace Gantry.Clustering.Registry;

/// <summary>
/// The data planes every control plane node of one database has heard from, in
/// <c>clustering_data_planes</c>. A control plane reports each data plane on hello, ping, applied and
/// every change of its status; the Admin API and the metrics read it back. A data plane unseen for the
/// purge delay (cluster_data_plane_purge_delay) is hidden from every read at once, and its row is
/// deleted by whichever control plane node purges first: purges run from the reports themselves, at
/// most once a minute per node, so no node needs a timer of its own and several nodes deleting the
/// same rows is harmless.
/// </summary>
public sealed class DataPlaneRegistry
{
    /// <summary>How often one node deletes expired rows, at most.</summary>
    public static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);

    private readonly DataPlaneTable _table;
    private long _nextPurge;

    /// <param name="database">The control plane's database (never null on a control plane).</param>
    /// <param name="purgeDelay">cluster_data_plane_purge_delay (<see cref="Configuration.GantryConfig.ClusterDataPlanePurgeDelay"/>).</param>
    public DataPlaneRegistry(IDatabase database, TimeSpan purgeDelay)
    {
        if (purgeDelay <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(purgeDelay), purgeDelay, "the purge delay must be positive");
        _table = new DataPlaneTable(new TransactionRunner(database));
        PurgeDelay = purgeDelay;
    }

    public TimeSpan PurgeDelay { get; }

    /// <summary>
    /// Records what the control plane knows of a data plane now: creates its row, or replaces every field
    /// of it, and marks it seen. Call it on hello, on every ping, after applied, and when its status changes.
    /// </summary>
    public async Task UpsertAsync(DataPlaneReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await _table.UpsertAsync(report, cancellationToken);
        var now = Environment.TickCount64;
        var due = Interlocked.Read(ref _nextPurge);
        if (now >= due && Interlocked.CompareExchange(ref _nextPurge, now + (long)PurgeInterval.TotalMilliseconds, due) == due)
            await PurgeExpiredAsync(cancellationToken);
    }

    /// <summary>
    /// One page of the data planes seen within the purge delay, by id, as <c>GET /clustering/data-planes</c>
    /// pages them. <paramref name="offset"/> is a previous page's <see cref="DataPlanePage.Offset"/>
    /// (an invalid one throws <see cref="EntityException"/>, Kong's 400).
    /// </summary>
    public async Task<DataPlanePage> PageAsync(int size, string? offset, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var rows = await _table.ListAsync(PurgeDelay, PageOffset.Decode(offset), size + 1, cancellationToken);
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(rows.Count - 1);
            next = PageOffset.Encode(rows[^1].Id.ToString());
        }
        return new DataPlanePage(rows, next);
    }

    /// <summary>Every data plane seen within the purge delay, by id (for <c>/clustering/status</c> and the metrics).</summary>
    public async Task<IReadOnlyList<DataPlaneEntry>> ListAsync(CancellationToken cancellationToken)
    {
        var all = new List<DataPlaneEntry>();
        string? after = null;
        while (true)
        {
            // In pages, so that thousands of data planes are never one result held by the database at once.
            var rows = await _table.ListAsync(PurgeDelay, after, 1000, cancellationToken);
            all.AddRange(rows);
            if (rows.Count < 1000)
                return all;
            after = rows[^1].Id.ToString();
        }
    }

    /// <summary>Deletes the rows of data planes unseen for longer than the purge delay; returns how many went.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) => _table.PurgeAsync(PurgeDelay, cancellationToken);
}
