using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary><c>gantry start</c> against each migration state, and the blue-green upgrade it must allow.</summary>
public sealed class NodeStartTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Starts a node, checks it answers, stops it; returns what start printed.</summary>
    private static async Task<string> StartAndStopAsync(TestInstallation gantry, params string[] extra)
    {
        await using var node = gantry.Start(["start", .. extra]);
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var status = await Http.GetFromJsonAsync<JsonElement>(gantry.StatusUrl + "/status");
        Assert.True(status.GetProperty("database").GetProperty("reachable").GetBoolean());
        var root = await Http.GetFromJsonAsync<JsonElement>(gantry.AdminUrl + "/");
        Assert.False(string.IsNullOrEmpty(root.GetProperty("node_id").GetString()));

        var health = await gantry.RunAsync("health");
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.Contains($"Gantry is healthy at {gantry.Prefix}", health.Stdout);

        var stop = await gantry.RunAsync("stop");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var exited = await node.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exited.ExitCode);
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "pids", "gantry.pid")));
        var after = await gantry.RunAsync("health");
        Assert.Equal(1, after.ExitCode);
        Assert.Contains("Gantry is not running", after.Stderr);
        return exited.All;
    }

    [Fact]
    public async Task Fresh_embedded_sqlite_bootstraps_itself_and_says_so()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var output = await StartAndStopAsync(gantry);
        Assert.Contains("bootstrapping a new embedded database", output);
        Assert.Contains("core migrated up to: 000_base (executed)", output);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "list")).ExitCode);
    }

    [Fact]
    public async Task Fresh_postgres_is_refused_with_the_command_to_run()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        var start = await gantry.RunAsync("start");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("Error: Database needs bootstrapping; run 'gantry migrations bootstrap'", start.Stderr);
        Assert.False(await gantry.TableExistsAsync("services"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Blue_green_upgrade_keeps_both_releases_working(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);

        // Release A is live.
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (1, 'one')");

        // Release B arrives: it refuses to start before 'up', unless asked to run it.
        gantry.UseRelease(Releases.B);
        var refused = await gantry.RunAsync("start");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("New migrations available (blue: 003_label, 004_label_index); run 'gantry migrations up' to proceed", refused.Stderr);

        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());

        // Expanded: A's code still reads and writes; B's code reads and writes the new column.
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (2, 'two')");
        Assert.Equal("one", await gantry.ScalarAsync("SELECT name FROM items WHERE id = 1"));
        await gantry.ExecuteAsync("INSERT INTO items (id, name, label) VALUES (3, 'three', 'THREE')");
        Assert.Equal("THREE", await gantry.ScalarAsync("SELECT label FROM items WHERE id = 3"));

        // Both releases start on the expanded database, each saying what it sees.
        var bOutput = await StartAndStopAsync(gantry);
        Assert.Contains("warning: Database has pending migrations (blue: 003_label); run 'gantry migrations finish' once every node runs this release", bOutput);
        gantry.UseRelease(Releases.A);
        var aOutput = await StartAndStopAsync(gantry);
        Assert.Contains("warning: Database has migrations from a newer release (blue: 003_label, 004_label_index)", aOutput);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "list")).ExitCode);

        // Traffic has moved: contract.
        gantry.UseRelease(Releases.B);
        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Equal("one", await gantry.ScalarAsync("SELECT label FROM items WHERE id = 1"));
        Assert.Equal("two", await gantry.ScalarAsync("SELECT label FROM items WHERE id = 2"));
        Assert.Equal("THREE", await gantry.ScalarAsync("SELECT label FROM items WHERE id = 3"));
        await gantry.ExecuteAsync("INSERT INTO items (id, label) VALUES (4, 'four')");
        Assert.False(await gantry.ColumnExistsAsync("items", "name"));

        var finished = await StartAndStopAsync(gantry);
        Assert.DoesNotContain("warning:", finished);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Run_migrations_flag_runs_up_before_starting(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);

        var output = await StartAndStopAsync(gantry, "--run-migrations");
        Assert.Contains("blue migrated up to: 003_label (pending)", output);
        Assert.Contains("warning: Database has pending migrations (blue: 003_label)", output);
        Assert.Equal(4, (await gantry.RunAsync("migrations", "list")).ExitCode);
    }

    [Fact]
    public async Task Daemon_mode_detaches_and_stop_ends_it()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var start = await gantry.RunAsync("start", "--daemon");
        Assert.True(start.ExitCode == 0, start.ToString());
        Assert.Contains("Gantry started in the background (pid ", start.Stdout);
        var status = await Http.GetFromJsonAsync<JsonElement>(gantry.StatusUrl + "/status");
        Assert.True(status.GetProperty("database").GetProperty("reachable").GetBoolean());

        var second = await gantry.RunAsync("start");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("Gantry is already running at", second.Stderr);

        var stop = await gantry.RunAsync("stop");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Equal(1, (await gantry.RunAsync("health")).ExitCode);
    }

    [Fact]
    public async Task Version_prints_the_release()
    {
        var result = await GantryProcess.RunAsync(new Dictionary<string, string>(), "version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^Gantry \d+\.\d+\.\d+\s*$", result.Stdout);
    }
}
