using System.Reflection;
using Gantry.Migrations;

namespace Gantry;

/// <summary>The release this process is.</summary>
public static class GantryInfo
{
    /// <summary>The release this binary was built as.</summary>
    public static string BuildVersion { get; } =
        typeof(GantryInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    // Lazy, so that every reader (CLI output, migration records, fencing, the Admin API) sees one value
    // for the life of the process, whichever of them asks first.
    private static readonly Lazy<string> Claimed = new(() =>
        TestingSubsystems.ReadRelease(Environment.GetEnvironmentVariable(TestingSubsystems.EnvironmentVariable)) ?? BuildVersion);

    /// <summary>
    /// The release this process claims: the build's, unless the testing aid names another one (tests play
    /// two releases with one binary). Everything that records or compares releases reads this.
    /// </summary>
    public static string Version => Claimed.Value;

    /// <summary><see cref="Version"/> as a comparable release number.</summary>
    public static ReleaseVersion Release => ReleaseVersion.TryParse(Version, out var release) ? release : default;
}
