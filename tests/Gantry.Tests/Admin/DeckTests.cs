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
    private static string BurstFile => SharedReference.PathOf("reference/declarative/burst.yml");

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

        // The round trip: what decK dumps, it finds again, and syncing it changes nothing.
        var dumpFile = Path.Combine(work, "dumped.yaml");
        var dump = await DeckAsync(gantry.AdminUrl, work, "dump", "-o", dumpFile);
        Assert.True(dump.ExitCode == 0, dump.Output);
        var dumped = await File.ReadAllTextAsync(dumpFile);
        Assert.Contains("4test-any.something-static.80", dumped);
        var diffDump = await DeckAsync(gantry.AdminUrl, work, "diff", "-s", dumpFile, "--non-zero-exit-code");
        Assert.True(diffDump.ExitCode == 0, "deck diff of its own dump found drift:\n" + diffDump.Output);
        var again = await DeckAsync(gantry.AdminUrl, work, "sync", "-s", dumpFile);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("Created: 0", again.Output);
        Assert.Contains("Updated: 0", again.Output);
        Assert.Contains("Deleted: 0", again.Output);

        // burst.yml itself was dumped from a Kong that predates some fields (route buffering and path
        // handling, upstream threshold, ip-restriction's message and status, prometheus's config, which
        // the file leaves out entirely) that decK 1.4 does not default; Kong 3.9 reports the same drift
        // against it. Nothing else may differ.
        var diff = await DeckAsync(gantry.AdminUrl, work, "diff", "-s", BurstFile);
        Assert.True(diff.ExitCode == 0, diff.Output);
        var changedKeys = System.Text.RegularExpressions.Regex.Matches(diff.Output, @"^[-+]\s+""([a-z_]+)"":", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToHashSet();
        string[] newerFields =
        [
            "path_handling", "request_buffering", "response_buffering", "threshold", "type", "message", "status", "created_at", "updated_at",
            "config", "per_consumer", "status_code_metrics", "ai_metrics", "latency_metrics", "bandwidth_metrics", "upstream_health_metrics",
        ];
        Assert.True(changedKeys.IsSubsetOf(newerFields), "unexpected drift in: " + string.Join(", ", changedKeys.Except(newerFields)));
        Assert.Contains("Created: 0", diff.Output);
        Assert.Contains("Deleted: 0", diff.Output);

        var reset = await DeckAsync(gantry.AdminUrl, work, "reset", "--force");
        Assert.True(reset.ExitCode == 0, reset.Output);
        foreach (var table in new[] { "services", "routes", "upstreams", "targets", "plugins" })
            Assert.Equal(0, await gantry.CountAsync($"SELECT count(*) FROM {table}"));
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
