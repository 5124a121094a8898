using Gantry.Tests.Support;

namespace Gantry.Tests.Clustering;

/// <summary>
/// A release file of the test host declares the fields its release introduced, so that a control plane
/// playing it strips them for older data planes (the upgrade-order test); a malformed declaration stops
/// the host before it runs anything.
/// </summary>
public sealed class CompatibilityReleaseFileTests
{
    [Theory]
    [InlineData("""{"release": "0.4.0", "introduced_fields": [{"entity": "services", "path": "retry_budget"}, {"plugin": "key-auth", "path": "config.realm", "release": "0.3.5"}]}""",
        0, "0.4.0")]
    [InlineData("""{"introduced_fields": [{"entity": "services", "path": "retry_budget"}]}""", 2, "introduced_fields needs a \"release\"")]
    [InlineData("""{"release": "0.4.0", "introduced_fields": [{"entity": "services", "path": "x", "release": "0.4"}]}""", 2, "introduced_fields release '0.4' is not of the form major.minor.patch")]
    [InlineData("""{"release": "0.4.0", "introduced_fields": [{"path": "x"}]}""", 2, "entity")]
    public async Task A_release_file_declares_the_fields_its_release_introduced(string releaseJson, int exitCode, string expected)
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.UseRelease(releaseJson);
        var version = await gantry.RunAsync("version");
        Assert.True(version.ExitCode == exitCode, version.ToString());
        Assert.Contains(expected, exitCode == 0 ? version.Stdout : version.Stderr);
    }
}
