using System.Collections.Concurrent;

namespace Gantry.Proxy.Http1;

/// <summary>
/// The one timer behind every upstream timeout of the HTTP/1.1 forwarder: ten times a second it looks at
/// each open connection's connect, write and read deadlines, at whether the client of the request it
/// carries went away, and at how long an idle one has waited, and aborts the socket of any that is over.
/// A timer or cancellation source per request would cost an allocation and a timer-queue entry on every
/// request; a deadline here is one store of a number.
/// </summary>
internal sealed class DeadlineTicker : IDisposable
{
    /// <summary>How often deadlines are looked at, and so how late a timeout can fire.</summary>
    public const int TickMs = 100;

    private readonly ConcurrentDictionary<Http1Connection, byte> _connections = new();
    private readonly Timer _timer;
    private int _ticking;

    public DeadlineTicker()
    {
        _timer = new Timer(_ => Tick(), null, TickMs, TickMs);
    }

    /// <summary>Now, on the clock every deadline is written in.</summary>
    public static long Now => Environment.TickCount64;

    public void Watch(Http1Connection connection) => _connections.TryAdd(connection, 0);

    public void Forget(Http1Connection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Open connections, idle or busy: what the pool holds plus what requests hold.</summary>
    public int Count => _connections.Count;

    private void Tick()
    {
        // A tick that outlasts the period (a stalled machine) is not run twice at once.
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
            return;
        try
        {
            var now = Now;
            foreach (var (connection, _) in _connections)
                connection.CheckDeadlines(now);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}
