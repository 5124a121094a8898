namespace Gantry.Tests.Support;

/// <summary>
/// The release before this one, built from its own sources (releases/v0.1.0.tar.gz) by bin/build-release (bin/test runs it before
/// the suite and passes the result in <see cref="BuildVariable"/>). The upgrade phase tests run it as the
/// old nodes: its real code, not the current code claiming an older release number, which only the
/// real code can show (how it reads and writes rows of a schema that the new release expanded).
/// </summary>
public static class PreviousRelease
{
    public const string Tag = "v0.1.0";

    public const string Version = "0.1.0";

    /// <summary>
    /// In a <see cref="TestInstallation"/>'s environment: run this gantry.dll instead of bin/gantry. Set by
    /// bin/test in the test process's environment to the previous release's build.
    /// </summary>
    public const string BuildVariable = "GANTRY_TEST_PREVIOUS_RELEASE_DLL";

    public static string Assembly
    {
        get
        {
            var path = System.Environment.GetEnvironmentVariable(BuildVariable);
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
                throw new InvalidOperationException(
                    $"the previous release ({Tag}) is not built: bin/test builds it with 'bin/build-release {Tag}' from releases/{Tag}.tar.gz; "
                    + "GANTRY_PREVIOUS_RELEASE=<commit> bin/test names another commit");
            return path;
        }
    }
}
