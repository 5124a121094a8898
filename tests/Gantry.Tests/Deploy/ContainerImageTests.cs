using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Gantry;
using Gantry.Configuration;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Deploy;

/// <summary>
/// The container image (deploy/image/Dockerfile): built with buildah from a locally made base, started
/// without a daemon, and checked to serve, through deploy/image/build-and-check.sh, the script users run too.
/// </summary>
public sealed partial class ContainerImageTests(ITestOutputHelper log)
{
    private static string Dockerfile => RepositoryFiles.PathOf("deploy/image/Dockerfile");

    [Fact]
    public async Task Image_builds_starts_serves_survives_a_crash_and_stops_on_sigterm()
    {
        var before = LeftoverWorkDirectories();
        var started = Stopwatch.StartNew();
        var (exitCode, output) = await RunAsync(RepositoryFiles.PathOf("deploy/image/build-and-check.sh"), TimeSpan.FromMinutes(25));
        Assert.True(exitCode == 0, $"exit {exitCode} after {started.Elapsed}\n{output}");
        log.WriteLine(output);

        // Each check the script makes is announced; a script that skipped one would not say it.
        Assert.Contains("entrypoint [\"gantry\"], cmd [\"start\"], user 1000:1000, workdir /usr/local/gantry, healthcheck [\"CMD\",\"gantry\",\"health\"], volumes [\"/usr/local/gantry\"]", output);
        Assert.Contains($"it serves: /status 200, /status/ready 200, proxy 404 (no route), Admin API 200 (Gantry {GantryInfo.Version}, node ", output);
        Assert.Contains("health check: Gantry is healthy at /usr/local/gantry (pid 1)", output);
        Assert.Contains("it serves again with the same node id; health check: Gantry is healthy at /usr/local/gantry (pid 1)", output);
        Assert.Contains("killing it (a crash) and starting it again on the same volume", output);
        Assert.Contains("stopping it with SIGTERM", output);
        var last = output.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("image check: ok, image ", last);

        // Nothing is left behind but the cached base root filesystem.
        Assert.Empty(LeftoverWorkDirectories().Except(before));
        Assert.False(Directory.Exists(RepositoryFiles.PathOf(".build/image/publish")), "the published program stayed in the build context");
        Assert.NotEmpty(Directory.GetFiles(Environment.GetEnvironmentVariable("GANTRY_IMAGE_CACHE") ?? "/var/cache/gantry-image-base", "base-*.tar"));
    }

    [Fact]
    public async Task Image_environment_names_real_properties_with_valid_values()
    {
        var environment = ImageEnvironment();
        var gantryVariables = environment.Where(e => e.Key.StartsWith("GANTRY_", StringComparison.Ordinal)).ToDictionary();
        Assert.Equal(
            ["GANTRY_ADMIN_LISTEN", "GANTRY_PREFIX", "GANTRY_PROXY_LISTEN", "GANTRY_STATUS_LISTEN"],
            gantryVariables.Keys.Order(StringComparer.Ordinal));
        Assert.All(gantryVariables.Keys, name => Assert.NotNull(ConfProperties.Find(name["GANTRY_".Length..].ToLowerInvariant())));

        // Facing the container's network: proxy and Status API; the unauthenticated Admin API stays on loopback.
        Assert.Equal("0.0.0.0:8000, 0.0.0.0:8443 http2 ssl", gantryVariables["GANTRY_PROXY_LISTEN"]);
        Assert.Equal("0.0.0.0:8007", gantryVariables["GANTRY_STATUS_LISTEN"]);
        Assert.DoesNotContain("0.0.0.0", gantryVariables["GANTRY_ADMIN_LISTEN"]);

        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var file = Path.Combine(gantry.Prefix, "empty.conf");
        await File.WriteAllTextAsync(file, "");
        var result = await GantryProcess.RunAsync(gantryVariables, "check", file);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void Base_image_is_a_build_argument_defaulting_to_the_aspnet_runtime()
    {
        var text = File.ReadAllText(Dockerfile);
        Assert.Contains("ARG BASE_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0\n", text);
        Assert.Contains("ARG GANTRY_FROM=build\n", text);
        var froms = FromLine().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["${SDK_IMAGE} AS build", "scratch AS prebuilt", "${GANTRY_FROM} AS program", "${BASE_IMAGE}"], froms);
        Assert.Matches(@"\nUSER \$\{GANTRY_UID\}:\$\{GANTRY_GID\}\n", text);
        Assert.Contains("ARG GANTRY_UID=1000\n", text);
    }

    private static Dictionary<string, string> ImageEnvironment()
    {
        // The one ENV instruction, joined across its continuation lines.
        var text = File.ReadAllText(Dockerfile).Replace("\\\n", " ");
        var line = text.Split('\n').Single(l => l.StartsWith("ENV ", StringComparison.Ordinal));
        return EnvPair().Matches(line[4..]).ToDictionary(m => m.Groups[1].Value, m => m.Groups[3].Success ? m.Groups[3].Value : m.Groups[4].Value);
    }

    private static HashSet<string> LeftoverWorkDirectories() =>
        [.. Directory.GetDirectories("/var/tmp", "gantry-image.*")];

    private static async Task<(int ExitCode, string Output)> RunAsync(string script, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM, not a kill: the script's trap stops the container and removes its storage.
            Process.Start("kill", ["-TERM", process.Id.ToString()])?.WaitForExit();
            await process.WaitForExitAsync();
            lock (output)
                return (-1, $"timed out after {timeout}\n{output}");
        }
        await process.WaitForExitAsync();
        lock (output)
            return (process.ExitCode, output.ToString());
    }

    [GeneratedRegex(@"^FROM (.+)$", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"([A-Z_]+)=(""([^""]*)""|(\S+))")]
    private static partial Regex EnvPair();
}
