namespace Gantry.Store;

/// <summary>
/// Reads a cluster_events channel so that each event is delivered once. Every read returns the events
/// stamped within <c>window</c> before the previous read (by the database's clock) that were not
/// delivered yet: an event whose transaction commits after a later one's is still delivered, though
/// its timestamp is older, and a channel nobody writes to costs a read of nothing.
/// </summary>
public sealed class ClusterEventCursor(EntityDao dao, string channel, TimeSpan window)
{
    private readonly Dictionary<Guid, double> _delivered = [];
    private double _since;

    /// <summary>The events not delivered yet, oldest first, delivered by this call.</summary>
    public async Task<IReadOnlyList<(Guid Id, Guid NodeId, double At, string Data)>> ReadAsync(CancellationToken cancellationToken)
    {
        var batch = await PeekAsync(cancellationToken);
        Acknowledge(batch);
        return batch.Events;
    }

    /// <summary>
    /// The events not delivered yet, oldest first, left undelivered until <see cref="Acknowledge"/>: a reader
    /// that fails to apply them reads them again.
    /// </summary>
    public async Task<EventBatch> PeekAsync(CancellationToken cancellationToken)
    {
        // The clock is read before the events: whatever commits after this read is stamped after
        // now - window (unless its transaction stayed open longer than the window) and is read next time.
        var now = await dao.DatabaseNowAsync(cancellationToken);
        var fresh = new List<(Guid, Guid, double, string)>();
        foreach (var row in await dao.EventsSinceAsync(channel, _since, cancellationToken))
        {
            if (!_delivered.ContainsKey(row.Id))
                fresh.Add(row);
        }
        return new EventBatch(fresh, now);
    }

    /// <summary>Marks a batch from <see cref="PeekAsync"/> as delivered.</summary>
    public void Acknowledge(EventBatch batch)
    {
        foreach (var row in batch.Events)
            _delivered.TryAdd(row.Id, row.At);
        _since = batch.ReadAt - window.TotalSeconds;
        foreach (var (id, at) in _delivered)
        {
            if (at < _since)
                _delivered.Remove(id);
        }
    }
}

/// <summary>Events read from a channel and the database time they were read at.</summary>
public sealed record EventBatch(IReadOnlyList<(Guid Id, Guid NodeId, double At, string Data)> Events, double ReadAt);
