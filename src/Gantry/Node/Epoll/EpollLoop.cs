using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Gantry.Node.Epoll;

/// <summary>Something registered with an <see cref="EpollLoop"/>: told, on the loop's thread, what epoll reported for its descriptor.</summary>
internal interface IEpollTarget
{
    void OnEvents(uint events);
}

/// <summary>
/// One event loop: a thread that waits in epoll_wait and runs, in turn, what each ready descriptor needs, as an
/// nginx worker does. There is one per core (<see cref="All"/>). Work from other threads reaches a loop through
/// <see cref="Post"/> (an eventfd wakes it). A descriptor is closed only on its loop's thread, between two
/// waits, so no event of a closed descriptor can reach the object that owned it.
/// </summary>
internal sealed unsafe class EpollLoop
{
    public const string ThreadNamePrefix = "gantry io ";

    private static readonly Lazy<EpollLoop[]> Loops = new(() =>
        Enumerable.Range(0, Environment.ProcessorCount).Select(i => new EpollLoop(i)).ToArray());
    private static int _next;
    [ThreadStatic] private static EpollLoop? _current;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly ConcurrentQueue<Action> _work = new();
    private int _wakePending;

    private EpollLoop(int index)
    {
        Index = index;
        _epoll = Native.Check(Native.epoll_create1(Native.EPOLL_CLOEXEC), "epoll_create1");
        _wake = Native.Check(Native.eventfd(0, Native.EFD_NONBLOCK | Native.EFD_CLOEXEC), "eventfd");
        var e = new Native.EpollEvent { Events = Native.EPOLLIN, Data = 0 };
        Native.Check(Native.epoll_ctl(_epoll, Native.EPOLL_CTL_ADD, _wake, &e), "epoll_ctl");
        new Thread(Run) { IsBackground = true, Name = ThreadNamePrefix + index }.Start();
    }

    /// <summary>Whether epoll loops can run here: Linux on x86-64 (the layout of <see cref="Native.EpollEvent"/>).</summary>
    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>Every loop, one per core, started on first use.</summary>
    public static EpollLoop[] All => Loops.Value;

    /// <summary>Told about an exception that escaped the work of a loop (the loop goes on).</summary>
    public static Action<Exception>? Unhandled { get; set; }

    /// <summary>Whether the calling code runs on a loop's thread.</summary>
    public static bool OnLoopThread => _current is not null;

    /// <summary>This loop's place in <see cref="All"/>.</summary>
    public int Index { get; }

    /// <summary>The calling thread's loop when it is one, so that a request's upstream connection lives beside its client's; else the next in turn.</summary>
    public static EpollLoop Pick() =>
        _current ?? All[(int)((uint)Interlocked.Increment(ref _next) % (uint)All.Length)];

    /// <summary>Watches <paramref name="fd"/> for <paramref name="events"/>; the target is kept alive by the returned handle until <see cref="Forget"/>.</summary>
    public GCHandle Watch(int fd, uint events, IEpollTarget target)
    {
        var handle = GCHandle.Alloc(target);
        var e = new Native.EpollEvent { Events = events, Data = (ulong)GCHandle.ToIntPtr(handle) };
        if (Native.epoll_ctl(_epoll, Native.EPOLL_CTL_ADD, fd, &e) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Free();
            throw new IOException($"epoll_ctl failed (errno {errno})");
        }
        return handle;
    }

    /// <summary>Stops watching <paramref name="fd"/> (still open) and releases its target; on this loop's thread.</summary>
    public void Forget(int fd, GCHandle handle)
    {
        var e = default(Native.EpollEvent);
        Native.epoll_ctl(_epoll, Native.EPOLL_CTL_DEL, fd, &e);
        handle.Free();
    }

    /// <summary>Runs <paramref name="work"/> on this loop's thread, after the events it is handling now.</summary>
    public void Post(Action work)
    {
        _work.Enqueue(work);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            var one = 1UL;
            Native.write(_wake, &one, 8);
        }
    }

    private void Run()
    {
        _current = this;
        const int batch = 256;
        var events = stackalloc Native.EpollEvent[batch];
        while (true)
        {
            var n = Native.epoll_wait(_epoll, events, batch, -1);
            if (n < 0)
                continue; // EINTR
            var woken = false;
            for (var i = 0; i < n; i++)
            {
                if (events[i].Data == 0)
                {
                    woken = true;
                    continue;
                }
                try
                {
                    ((IEpollTarget)GCHandle.FromIntPtr((nint)events[i].Data).Target!).OnEvents(events[i].Events);
                }
                catch (Exception e)
                {
                    Unhandled?.Invoke(e);
                }
            }
            if (!woken)
                continue;
            ulong count;
            Native.read(_wake, &count, 8);
            Volatile.Write(ref _wakePending, 0);
            while (_work.TryDequeue(out var work))
            {
                try
                {
                    work();
                }
                catch (Exception e)
                {
                    Unhandled?.Invoke(e);
                }
            }
        }
    }
}

internal static unsafe class Native
{
    public const int EPOLL_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    public const int EINTR = 4, EAGAIN = 11, EPROTO = 71, ECONNABORTED = 103;
    public const uint EPOLLIN = 1, EPOLLOUT = 4, EPOLLERR = 8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000, EPOLLEXCLUSIVE = 1u << 28, EPOLLET = 1u << 31;

    // Packed on x86-64 only, as the kernel's own definition is.
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    public static int Check(int result, string call) =>
        result >= 0 ? result : throw new IOException($"{call} failed (errno {Marshal.GetLastPInvokeError()})");

    [DllImport("libc", SetLastError = true)] public static extern int epoll_create1(int flags);
    [DllImport("libc", SetLastError = true)] public static extern int epoll_ctl(int epfd, int op, int fd, EpollEvent* e);
    [DllImport("libc", SetLastError = true)] public static extern int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);
    [DllImport("libc", SetLastError = true)] public static extern int eventfd(uint initial, int flags);
    [DllImport("libc", SetLastError = true)] public static extern nint read(int fd, void* buffer, nint count);
    [DllImport("libc", SetLastError = true)] public static extern nint write(int fd, void* buffer, nint count);
    [DllImport("libc", SetLastError = true)] public static extern int accept4(int fd, void* address, void* length, int flags);
}
