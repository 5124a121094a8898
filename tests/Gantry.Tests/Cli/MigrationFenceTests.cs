using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary>
/// Drift between the code's migrations and the database's records, and the fences between releases:
/// the release floor that 'migrations finish' raises, and the Admin API's write refusal between up and finish.
/// </summary>
public sealed class MigrationFenceTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private const string Items001 = """{"name": "001_items", "up": [{"sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"}]}""";
    private const string Items002 = """{"name": "002_items_name_index", "up": [{"sql": "CREATE INDEX items_name_idx ON items (name)"}]}""";

    /// <summary>Release A as it shipped, but with 002 edited afterwards (an index on another column).</summary>
    private static string AWithEdited002 => Releases.Claiming(Releases.AVersion, Releases.Of($$"""
        {"name": "blue", "migrations": [{{Items001}},
          {"name": "002_items_name_index", "up": [{"sql": "CREATE INDEX items_name_idx ON items (id, name)"}]}]}
        """));

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Changed_definition_is_reported_by_validate_and_refuses_start(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        var valid = await gantry.RunAsync("migrations", "validate");
        Assert.True(valid.ExitCode == 0, valid.ToString());
        Assert.Contains("migrations are valid", valid.Stdout);
        var stored = (string)(await gantry.ScalarAsync("SELECT checksum FROM gantry_migrations WHERE name = '002_items_name_index'"))!;

        gantry.UseRelease(AWithEdited002);
        var validate = await gantry.RunAsync("migrations", "validate");
        Assert.True(validate.ExitCode == 7, validate.ToString());
        Assert.Contains("drift: blue/002_items_name_index: its definition changed after it ran", validate.Stdout);
        Assert.Contains($"the database stored {stored} (recorded by Gantry 0.1.0)", validate.Stdout);
        Assert.DoesNotContain("001_items", validate.Stdout);
        Assert.DoesNotContain("migrations are valid", validate.Stdout);

        var json = await gantry.RunAsync("migrations", "validate", "--json");
        Assert.Equal(7, json.ExitCode);
        var document = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.False(document.GetProperty("valid").GetBoolean());
        var finding = Assert.Single(document.GetProperty("findings").EnumerateArray());
        Assert.Equal("checksum_mismatch", finding.GetProperty("kind").GetString());
        Assert.Equal("blue", finding.GetProperty("subsystem").GetString());
        Assert.Equal("002_items_name_index", finding.GetProperty("migration").GetString());
        Assert.Equal(stored, finding.GetProperty("stored_checksum").GetString());
        Assert.StartsWith("v1:", finding.GetProperty("expected_checksum").GetString());
        Assert.NotEqual(stored, finding.GetProperty("expected_checksum").GetString());

        foreach (var start in new[] { await gantry.RunAsync("start"), await gantry.RunAsync("start", "--run-migrations") })
        {
            Assert.True(start.ExitCode == 7, start.ToString());
            Assert.Contains("Error: the database's migration records disagree with this release's migrations (1 finding)", start.Stderr);
            Assert.Contains("blue/002_items_name_index: its definition changed after it ran", start.Stderr);
            Assert.Contains("run 'gantry migrations validate' for details", start.Stderr);
        }
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "pids", "gantry.pid")));

        // Restoring the released definition is the fix.
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "validate")).ExitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Unknown_migration_is_drift_unless_a_newer_release_recorded_it(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);

        // The old side of a blue-green upgrade: 003_label comes from 0.2.0, newer than A.
        gantry.UseRelease(Releases.A);
        var old = await gantry.RunAsync("migrations", "validate");
        Assert.True(old.ExitCode == 0, old.ToString());
        Assert.Contains("note: blue/003_label: recorded by Gantry 0.2.0, newer than this release (Gantry 0.1.0)", old.Stdout);
        Assert.Contains("migrations are valid", old.Stdout);

        // Release 0.2.0 itself, with 003_label taken out of its code: that record is now unexplained.
        gantry.UseRelease(Releases.Claiming(Releases.BVersion, Releases.Of($$"""{"name": "blue", "migrations": [{{Items001}}, {{Items002}}]}""")));
        var removed = await gantry.RunAsync("migrations", "validate");
        Assert.True(removed.ExitCode == 7, removed.ToString());
        Assert.Contains("drift: blue/003_label: recorded by Gantry 0.2.0", removed.Stdout);
        Assert.Contains("but this release, Gantry 0.2.0, no longer defines it", removed.Stdout);
        var start = await gantry.RunAsync("start");
        Assert.True(start.ExitCode == 7, start.ToString());
        Assert.Contains("blue/003_label: recorded by Gantry 0.2.0", start.Stderr);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Migration_inserted_before_executed_ones_is_a_gap(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);

        gantry.UseRelease(Releases.Claiming(Releases.AVersion, Releases.Of($$"""
            {"name": "blue", "migrations": [{{Items001}},
              {"name": "001_zz_inserted", "up": [{"sql": "CREATE TABLE inserted (x INTEGER)"}]},
              {{Items002}}]}
            """)));
        var validate = await gantry.RunAsync("migrations", "validate", "--json");
        Assert.True(validate.ExitCode == 7, validate.ToString());
        var finding = Assert.Single(JsonDocument.Parse(validate.Stdout).RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("gap", finding.GetProperty("kind").GetString());
        Assert.Equal("001_zz_inserted", finding.GetProperty("migration").GetString());
        var start = await gantry.RunAsync("start", "--run-migrations");
        Assert.True(start.ExitCode == 7, start.ToString());
        Assert.Contains("blue/001_zz_inserted: this release orders it before migrations the database already ran", start.Stderr);
        Assert.False(await gantry.TableExistsAsync("inserted"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Old_release_runs_until_finish_and_is_fenced_out_after_it(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        // Bootstrap ran the core's contract steps as A, so the floor (if any) names A; up must not raise it.
        var floorOfA = await gantry.ScalarAsync("SELECT value FROM gantry_meta WHERE key = 'release_floor'");
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        Assert.Equal(floorOfA, await gantry.ScalarAsync("SELECT value FROM gantry_meta WHERE key = 'release_floor'"));

        // Between up and finish, the old release still starts.
        gantry.UseRelease(Releases.A);
        await using (var node = gantry.Start("start"))
        {
            await node.WaitForOutputAsync("Gantry 0.1.0 started", TimeSpan.FromSeconds(60));
            Assert.Equal(0, (await gantry.RunAsync("stop")).ExitCode);
            await node.WaitAsync(TimeSpan.FromSeconds(30));
        }

        gantry.UseRelease(Releases.B);
        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        var floor = JsonDocument.Parse((string)(await gantry.ScalarAsync("SELECT value FROM gantry_meta WHERE key = 'release_floor'"))!).RootElement;
        Assert.Equal("0.2.0", floor.GetProperty("release").GetString());
        Assert.Equal("blue/003_label", floor.GetProperty("migration").GetString());

        gantry.UseRelease(Releases.A);
        const string Contracted = "Error: this database was contracted by Gantry 0.2.0 ('gantry migrations finish' ran blue/003_label); Gantry 0.1.0 can no longer run against it: ";
        var start = await gantry.RunAsync("start");
        Assert.True(start.ExitCode == 1, start.ToString());
        Assert.Contains(Contracted + "upgrade this node to 0.2.0 or newer", start.Stderr);
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "pids", "gantry.pid")));
        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 1, up.ToString());
        Assert.Contains(Contracted + "run 'gantry migrations up' from Gantry 0.2.0 or newer", up.Stderr);
        Assert.Equal(1, (await gantry.RunAsync("migrations", "finish")).ExitCode);

        // Reading commands still work for the old release.
        Assert.Equal(0, (await gantry.RunAsync("migrations", "list")).ExitCode);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "status")).ExitCode);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "validate")).ExitCode);

        // The release that contracted it, and newer ones, are not fenced.
        gantry.UseRelease(Releases.Claiming("0.10.0", Releases.B));
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
    }

    [Fact]
    public async Task Bootstrap_of_contract_steps_sets_the_floor_and_reset_still_works_for_older_releases()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        var floor = JsonDocument.Parse((string)(await gantry.ScalarAsync("SELECT value FROM gantry_meta WHERE key = 'release_floor'"))!).RootElement;
        Assert.Equal("0.2.0", floor.GetProperty("release").GetString());
        Assert.StartsWith("gantry migrations bootstrap", floor.GetProperty("set_by").GetString());

        gantry.UseRelease(Releases.A);
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.Equal(1, bootstrap.ExitCode);
        Assert.Contains("('gantry migrations bootstrap' ran blue/003_label)", bootstrap.Stderr);
        var reset = await gantry.RunAsync("migrations", "reset", "--yes");
        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task New_release_refuses_admin_writes_between_up_and_finish_and_learns_of_finish_without_restart(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);

        await using var newNode = gantry.Start("start");
        await newNode.WaitForOutputAsync("Gantry 0.2.0 started", TimeSpan.FromSeconds(60));
        var oldEnvironment = OtherNode(gantry);
        oldEnvironment[TestHost.ReleaseVariable] = gantry.WriteRelease(Releases.A);
        await using var oldNode = GantryProcess.Start(oldEnvironment, "start");
        await oldNode.WaitForOutputAsync("Gantry 0.1.0 started", TimeSpan.FromSeconds(60));
        var oldAdmin = "http://" + oldEnvironment["GANTRY_ADMIN_LISTEN"];

        var refused = await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "s1", url = "http://example.test" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(12, body.GetProperty("code").GetInt32());
        Assert.Equal("operation unsupported", body.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Object, body.GetProperty("fields").ValueKind);
        Assert.Empty(body.GetProperty("fields").EnumerateObject());
        var message = body.GetProperty("message").GetString()!;
        Assert.Contains("blue: 003_label", message);
        Assert.Contains("Write through the previous release's nodes, or run 'gantry migrations finish'", message);
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete })
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.SendAsync(new HttpRequestMessage(method, gantry.AdminUrl + "/services/s1"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.AdminUrl + "/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.AdminUrl + "/services")).StatusCode);

        // The old release's node sees unknown migrations, not pending ones: writes pass the guard.
        var oldWrite = await Http.PostAsJsonAsync(oldAdmin + "/services", new { name = "s0", host = "example.test" });
        Assert.Equal(HttpStatusCode.Created, oldWrite.StatusCode);

        Assert.Equal(0, (await gantry.RunAsync("migrations", "finish")).ExitCode);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(200);
            status = (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "s1", host = "example.test" })).StatusCode;
        }
        while (status == HttpStatusCode.ServiceUnavailable && clock.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.False(newNode.HasExited);
    }

    [Fact]
    public async Task Admin_writes_during_upgrade_on_disables_the_refusal()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);

        gantry.Environment["GANTRY_ADMIN_WRITES_DURING_UPGRADE"] = "on";
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("Gantry 0.2.0 started", TimeSpan.FromSeconds(60));
        var write = await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "s1", host = "example.test" });
        Assert.Equal(HttpStatusCode.Created, write.StatusCode);
    }

    [Fact]
    public async Task Release_a_host_claims_is_the_version_the_process_records_and_gantry_itself_claims_none()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.UseRelease(Releases.B);
        Assert.Equal("Gantry 0.2.0", (await gantry.RunAsync("version")).Stdout.Trim());
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        Assert.Equal("0.2.0", await gantry.ScalarAsync("SELECT gantry_version FROM gantry_migrations WHERE name = '003_label'"));

        // The product reads no file or variable that adds migrations or changes its release: the former
        // testing aid's variable, naming the same release file, changes nothing in bin/gantry.
        var product = new Dictionary<string, string>(gantry.Environment);
        product["GANTRY_TESTING_SUBSYSTEMS"] = product[TestHost.ReleaseVariable];
        product.Remove(TestHost.ReleaseVariable);
        var version = await GantryProcess.RunAsync(product, "version");
        Assert.Equal($"Gantry {GantryInfo.BuildVersion}", version.Stdout.Trim());
        var list = await GantryProcess.RunAsync(product, "migrations", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.DoesNotContain("blue", list.Stdout.Split("Migrations recorded by a release this one does not know:")[0]);
    }

    /// <summary>Another node on the same database: its own prefix and listeners.</summary>
    private static Dictionary<string, string> OtherNode(TestInstallation gantry)
    {
        var environment = new Dictionary<string, string>(gantry.Environment)
        {
            ["GANTRY_PREFIX"] = Path.Combine(gantry.Prefix, "other-node"),
            ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        };
        if (!gantry.IsPostgres)
            environment["GANTRY_SQLITE_PATH"] = gantry.SqlitePath;
        return environment;
    }
}
