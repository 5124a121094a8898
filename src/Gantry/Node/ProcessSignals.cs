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

    /// <summary>Signal 0 checks that the process exists without touching it.</summary>
    public static bool IsAlive(int pid)
    {
        if (Kill(pid, 0) == 0)
            return true;
        // EPERM: it exists but belongs to someone else.
        return Marshal.GetLastPInvokeError() == 1;
    }
}
