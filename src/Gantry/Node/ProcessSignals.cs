using System.Runtime.InteropServices;

namespace Gantry.Node;

/// <summary>kill(2), which .NET does not expose for signals other than SIGKILL.</summary>
internal static partial class ProcessSignals
{
    public const int SigInt = 2;
    public const int SigQuit = 3;
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static unsafe partial int SigAction(int signal, byte* action, byte* previous);

    /// <summary>
    /// Gives back its default disposition to a signal this process inherited as ignored. A shell starts
    /// background jobs ('gantry start &amp;' in a script) with SIGINT and SIGQUIT ignored, and .NET, which
    /// reads the dispositions once when it sets up its signal handling, then leaves them ignored even for a
    /// registered handler: the node would not hear 'gantry stop' or 'gantry quit'. Only effective before
    /// that set-up, so it is the first thing the command line does.
    /// </summary>
    public static unsafe void Unignore(int signal)
    {
        // struct sigaction is 152 bytes on glibc (x64, arm64) and smaller elsewhere; the handler comes first
        // everywhere, and all zeroes is SIG_DFL with an empty mask and no flags.
        var current = stackalloc byte[512];
        if (SigAction(signal, null, current) != 0 || *(nint*)current != SigIgn)
            return;
        var defaults = stackalloc byte[512];
        new Span<byte>(defaults, 512).Clear();
        SigAction(signal, defaults, null);
    }

    private const nint SigIgn = 1;

    /// <summary>Signal 0 checks that the process exists without touching it.</summary>
    public static bool IsAlive(int pid)
    {
        if (Kill(pid, 0) == 0)
            return true;
        // EPERM: it exists but belongs to someone else.
        return Marshal.GetLastPInvokeError() == 1;
    }
}
