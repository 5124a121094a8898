namespace Gantry.Clustering.Compatibility;

/// <summary>
/// Where a data plane stands with its control plane, under Kong's names (<see cref="SyncStatuses.Wire"/>),
/// as <c>/clustering/data-planes</c> lists it and the <c>status</c> message carries it.
/// </summary>
public enum SyncStatus
{
    /// <summary>Connected, not checked yet.</summary>
    Unknown,

    /// <summary>Compatible: it gets every configuration.</summary>
    Normal,

    /// <summary>Its release cannot run beside the control plane's: refused and disconnected.</summary>
    KongVersionIncompatible,

    /// <summary>It lacks a plugin the configuration uses: it keeps its last configuration until it has it.</summary>
    PluginSetIncompatible,

    /// <summary>It has a plugin the configuration uses in a version the control plane cannot feed.</summary>
    PluginVersionIncompatible,
}

public static class SyncStatuses
{
    /// <summary>The status as Kong spells it on the wire and in the Admin API.</summary>
    public static string Wire(this SyncStatus status) => status switch
    {
        SyncStatus.Normal => "normal",
        SyncStatus.KongVersionIncompatible => "kong_version_incompatible",
        SyncStatus.PluginSetIncompatible => "plugin_set_incompatible",
        SyncStatus.PluginVersionIncompatible => "plugin_version_incompatible",
        _ => "unknown",
    };

    /// <summary>The status a wire string names; anything else (a status of a newer release) reads as <see cref="SyncStatus.Unknown"/>.</summary>
    public static SyncStatus Parse(string? wire) => wire switch
    {
        "normal" => SyncStatus.Normal,
        "kong_version_incompatible" => SyncStatus.KongVersionIncompatible,
        "plugin_set_incompatible" => SyncStatus.PluginSetIncompatible,
        "plugin_version_incompatible" => SyncStatus.PluginVersionIncompatible,
        _ => SyncStatus.Unknown,
    };

    /// <summary>False for the statuses under which the control plane withholds configuration (Kong's version_compatible gauge is 0).</summary>
    public static bool IsCompatible(this SyncStatus status) =>
        status is not (SyncStatus.KongVersionIncompatible or SyncStatus.PluginSetIncompatible or SyncStatus.PluginVersionIncompatible);
}
