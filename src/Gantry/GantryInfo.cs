using System.Reflection;

namespace Gantry;

/// <summary>The release this process is.</summary>
public static class GantryInfo
{
    /// <summary>The release this binary was built as.</summary>
    public static string BuildVersion { get; } =
        typeof(GantryInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    // Fixed by the first reader (or by a host's claim before any reader), so that every reader (CLI
    // output, migration records, fencing, the Admin API) sees one value for the life of the process.
    private static string? _version;

    /// <summary>
    /// The release this process claims: the build's, unless the host that runs the CLI claimed another
    /// one (<see cref="GantryHost.Release"/>). Everything that records or compares releases reads this.
    /// </summary>
    public static string Version =>
        Volatile.Read(ref _version) ?? Interlocked.CompareExchange(ref _version, BuildVersion, null) ?? BuildVersion;

    /// <summary><see cref="Version"/> as a comparable release number.</summary>
    public static ReleaseVersion Release => ReleaseVersion.TryParse(Version, out var release) ? release : default;

    /// <summary>Makes this process claim <paramref name="release"/>; only before anything has read <see cref="Version"/>.</summary>
    internal static void Claim(string release)
    {
        if (!ReleaseVersion.TryParse(release, out _))
            throw new ArgumentException($"the claimed release '{release}' is not of the form major.minor.patch", nameof(release));
        var earlier = Interlocked.CompareExchange(ref _version, release, null);
        if (earlier is not null && earlier != release)
            throw new InvalidOperationException($"this process already runs as Gantry {earlier}: a release must be claimed before anything reads the version");
    }
}
