using System.Diagnostics;

namespace Gantry.Tests.Support;

/// <summary>
/// The test host (tests/Gantry.TestHost): Gantry's command line playing the release that a JSON file
/// describes (see <see cref="Releases"/>). bin/test builds it into .build/testhost before the tests run,
/// as it builds bin/gantry, so that tests starting it in parallel never race a build.
/// </summary>
public static class TestHost
{
    /// <summary>Names the release file; the test host reads it, the product knows nothing of it.</summary>
    public const string ReleaseVariable = "GANTRY_TESTHOST_RELEASE";

    public static string Assembly => RepositoryFiles.PathOf(".build/testhost/gantry-testhost.dll");

    public static ProcessStartInfo StartInfo()
    {
        if (!File.Exists(Assembly))
            throw new InvalidOperationException($"{Assembly} does not exist: run the suite with bin/test, which builds the test host");
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Assembly);
        return start;
    }
}
