using System.Collections.Concurrent;

namespace Gantry.Plugins.Logging;

/// <summary>
/// The node's log queues, one per plugin instance, across configuration snapshots: a snapshot rebuild
/// finds the queue of an unchanged instance and keeps it (with what it holds); a changed config gets a
/// new queue while the old one sends what it still holds. Drained when the node stops.
/// </summary>
public sealed class LogQueues : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Guid, LogQueue> _queues = new();
    private readonly Lock _lock = new();

    public LogQueue For(Guid instance, string signature, Func<LogQueue> create)
    {
        if (_queues.TryGetValue(instance, out var current) && current.Signature == signature)
            return current;
        lock (_lock)
        {
            if (_queues.TryGetValue(instance, out current) && current.Signature == signature)
                return current;
            var created = create();
            _queues[instance] = created;
            if (current is not null)
                _ = current.DrainAsync(TimeSpan.FromSeconds(30));
            return created;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_queues.Values.Select(q => q.DisposeAsync().AsTask()));
        _queues.Clear();
    }
}
