using Gantry.Configuration;
using Gantry.Node.Epoll;

namespace Gantry.Node;

/// <summary>
/// proxy_inline_io: the nginx model, one thread per request from socket to socket. Two settings make it:
/// the runtime's inline socket completions (continuations run on the socket engine's threads, one per core,
/// instead of hopping to the thread pool) and Kestrel's inline scheduling on the proxy listeners (requests
/// run where their bytes arrived). The runtime reads its setting once, from the environment, when the first
/// socket is used, so <see cref="Apply"/> runs before anything connects (the database among others).
///
/// With inline completions, whatever follows a socket read runs on a socket thread, and every connection that
/// thread serves waits for it. Work that is not a proxied request (configuration rebuilds, a data plane's apply,
/// health checks, log shipping, Admin API requests, SQLite calls) goes through <see cref="RunOffSocketThreads"/>,
/// <see cref="OffSocketThreads"/> or <see cref="LeaveSocketThreadAsync"/>, which keep it on the thread pool.
/// </summary>
internal static class InlineIo
{
    public const string RuntimeVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    // The name the runtime gives its socket engine threads (System.Net.Sockets' SocketAsyncEngine).
    private const string SocketThreadName = ".NET Sockets";

    /// <summary>Whether the node's proxy listeners run requests inline: on the runtime's socket threads, or on Gantry's epoll loops.</summary>
    public static bool Enabled(GantryConfig config) => config.GetBool("proxy_inline_io") || EpollLoops(config);

    /// <summary>Whether the proxy's connections, client and upstream, are served by Gantry's own epoll loops (proxy_io = epoll, where they can run).</summary>
    public static bool EpollLoops(GantryConfig config) => config.Get("proxy_io") == "epoll" && EpollLoop.Supported;

    /// <summary>Turns the runtime's inline completions on when the configuration asks for them; a no-op otherwise or when already on.</summary>
    public static void Apply(GantryConfig config)
    {
        if (config.GetBool("proxy_inline_io") && !EpollLoops(config) && Environment.GetEnvironmentVariable(RuntimeVariable) != "1")
            Environment.SetEnvironmentVariable(RuntimeVariable, "1");
    }

    /// <summary>Whether the calling code runs on one of the threads that serve proxy connections inline: the runtime's socket engine threads, or an epoll loop.</summary>
    public static bool OnSocketThread => EpollLoop.OnLoopThread || Thread.CurrentThread.Name == SocketThreadName;

    /// <summary>
    /// Starts a background loop on the thread pool, where every await of it resumes too, wherever the awaited
    /// socket operation completed. (Library code awaiting with ConfigureAwait(false) still resumes where the
    /// socket completed, until it returns to the loop's code; so must the loop's own awaits not use it.)
    /// </summary>
    public static Task RunOffSocketThreads(Func<Task> loop) => Task.Run(() =>
    {
        using var scope = OffSocketThreads();
        return loop();
    });

    /// <summary>
    /// Until disposed, the awaits started by the calling code resume on the thread pool. For the synchronous
    /// part of a call that returns a task: <c>using (OffSocketThreads()) return next();</c>.
    /// </summary>
    public static Scope OffSocketThreads()
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(PoolContext.Instance);
        return new Scope(previous);
    }

    /// <summary>Continues on the thread pool when called on a socket thread; at once otherwise.</summary>
    public static async ValueTask LeaveSocketThreadAsync()
    {
        if (OnSocketThread)
            await Task.Yield();
    }

    /// <summary>
    /// Says so, once per kind of work, when long work runs on a socket thread: requests on that thread wait
    /// for it. Never expected; the warning names the place a fix belongs.
    /// </summary>
    public static void WarnIfOnSocketThread(ILogger logger, string work)
    {
        if (OnSocketThread && WarnedWork.TryAdd(work, true))
            logger.LogWarning("{Work} ran on a socket thread: requests served by that thread waited for it", work);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> WarnedWork = new();

    public readonly struct Scope(SynchronizationContext? previous) : IDisposable
    {
        public void Dispose() => SynchronizationContext.SetSynchronizationContext(previous);
    }

    /// <summary>Runs every continuation posted to it on the thread pool, with itself as the context there, so that the awaits that follow capture it again.</summary>
    private sealed class PoolContext : SynchronizationContext
    {
        public static readonly PoolContext Instance = new();

        public override void Post(SendOrPostCallback callback, object? state) =>
            ThreadPool.QueueUserWorkItem(static item => Run(item.callback, item.state), (callback, state), preferLocal: false);

        public override void Send(SendOrPostCallback callback, object? state) => Run(callback, state);

        public override SynchronizationContext CreateCopy() => this;

        private static void Run(SendOrPostCallback callback, object? state)
        {
            using var scope = OffSocketThreads();
            callback(state);
        }
    }
}
