using System.Diagnostics;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Admin;

/// <summary>
/// decK, a client nobody on this project wrote, drives a running node: sync of Kong's large burst.yml,
/// dump, diff without drift, a second sync that changes nothing, and reset. bin/test installs Debian's
/// deck package.
/// </summary>
public sealed class DeckTests(ITestOutputHelper output)
{
    private static string BurstFile => Path.GetFullPath(Path.Combine(RepositoryFiles.Root, "..", "shared", "reference", "declarative", "burst.yml"));

    private static async Task<(int ExitCode, string Output)> DeckAsync(string admin, string workDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("deck") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDirectory };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--kong-addr");
        start.ArgumentList.Add(admin);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Sync_dump_diff_resync_and_reset_round_trip_burst_yml(string store)
    {
        Assert.True(File.Exists(BurstFile), $"missing {BurstFile}");
        await using var gantry = await TestInstallation.CreateAsync(store);
        if (store == "postgres")
            Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var work = gantry.Prefix;

        var clock = Stopwatch.StartNew();
        var sync = await DeckAsync(gantry.AdminUrl, work, "sync", "-s", BurstFile);
        output.WriteLine($"deck sync ({store}): {clock.Elapsed.TotalSeconds:F1}s\n{Tail(sync.Output)}");
        Assert.True(sync.ExitCode == 0, sync.Output);
        Assert.Equal(236, await gantry.CountAsync("SELECT count(*) FROM services"));
        Assert.Equal(286, await gantry.CountAsync("SELECT count(*) FROM routes"));
        Assert.Equal(236, await gantry.CountAsync("SELECT count(*) FROM upstreams"));
        Assert.Equal(237, await gantry.CountAsync("SELECT count(*) FROM targets"));
        Assert.Equal(95, await gantry.CountAsync("SELECT count(*) FROM plugins"));

        var dump = await DeckAsync(gantry.AdminUrl, work, "dump", "-o", Path.Combine(work, "dumped.yaml"));
        Assert.True(dump.ExitCode == 0, dump.Output);
        var dumped = await File.ReadAllTextAsync(Path.Combine(work, "dumped.yaml"));
        Assert.Contains("4test-any.something-static.80", dumped);

        var diff = await DeckAsync(gantry.AdminUrl, work, "diff", "-s", BurstFile, "--non-zero-exit-code");
        Assert.True(diff.ExitCode == 0, "deck diff found drift:\n" + diff.Output);
        var diffDump = await DeckAsync(gantry.AdminUrl, work, "diff", "-s", Path.Combine(work, "dumped.yaml"), "--non-zero-exit-code");
        Assert.True(diffDump.ExitCode == 0, "deck diff of its own dump found drift:\n" + diffDump.Output);

        var again = await DeckAsync(gantry.AdminUrl, work, "sync", "-s", BurstFile);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("Created: 0", again.Output);
        Assert.Contains("Updated: 0", again.Output);
        Assert.Contains("Deleted: 0", again.Output);

        var reset = await DeckAsync(gantry.AdminUrl, work, "reset", "--force");
        Assert.True(reset.ExitCode == 0, reset.Output);
        foreach (var table in new[] { "services", "routes", "upstreams", "targets", "plugins" })
            Assert.Equal(0, await gantry.CountAsync($"SELECT count(*) FROM {table}"));
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
