namespace Gantry.Clustering.Compatibility;

/// <summary>
/// Kong's release rule for a data plane: the control plane's major release, and a minor no newer than
/// the control plane's (any patch), so that a control plane upgraded first keeps feeding the data planes
/// of the previous minor releases, and a data plane upgraded before its control plane is refused.
/// </summary>
public static class ReleaseCompatibility
{
    /// <param name="controlPlane">This control plane's release (<see cref="GantryInfo.Release"/>).</param>
    /// <param name="dataPlaneVersion">The release the data plane announced in hello, as sent.</param>
    /// <returns>Normal, or <see cref="SyncStatus.KongVersionIncompatible"/> with a message naming both releases.</returns>
    public static CompatibilityVerdict Check(ReleaseVersion controlPlane, string? dataPlaneVersion)
    {
        if (!ReleaseVersion.TryParse(dataPlaneVersion, out var dataPlane))
            return Refused($"data plane release '{dataPlaneVersion}' is not a release number (major.minor.patch); control plane release is {controlPlane}");
        if (dataPlane.Major != controlPlane.Major)
            return Refused($"data plane release {dataPlane} and control plane release {controlPlane} differ in their major release; "
                + $"this control plane accepts data planes of {controlPlane.Major}.x up to {controlPlane.Major}.{controlPlane.Minor}.x");
        if (dataPlane.Minor > controlPlane.Minor)
            return Refused($"data plane release {dataPlane} is newer than control plane release {controlPlane}; "
                + "upgrade the control plane first, then the data planes");
        return CompatibilityVerdict.Compatible;
    }

    private static CompatibilityVerdict Refused(string message) => new(SyncStatus.KongVersionIncompatible, message, []);
}
