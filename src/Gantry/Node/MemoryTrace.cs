using System.Diagnostics;

namespace Gantry.Node;

/// <summary>
/// The managed heap and the process's resident memory at a named step of a large piece of work (a whole
/// configuration loaded), logged at debug level: where the resident peak of a data plane's sync comes from
/// is measured with it (bench/hybrid.py, docs/hybrid.md) rather than guessed. The peak (VmHWM) also counts
/// garbage not yet collected, so the heap after the last collection is given beside the live total.
/// </summary>
public static class MemoryTrace
{
    public static void Log(ILogger logger, string step)
    {
        if (!logger.IsEnabled(LogLevel.Debug))
            return;
        var info = GC.GetGCMemoryInfo();
        using var process = Process.GetCurrentProcess();
        logger.LogDebug("memory at {Step}: managed heap {Heap} MB ({Committed} MB committed, {AfterLastGc} MB after the last collection), resident {Resident} MB, peak {Peak} MB",
            step, GC.GetTotalMemory(false) >> 20, info.TotalCommittedBytes >> 20, info.HeapSizeBytes >> 20, process.WorkingSet64 >> 20, process.PeakWorkingSet64 >> 20);
    }
}
