using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;

namespace Gantry.Tests.Upgrade;

/// <summary>
/// The phases of core/002_consumer_username_lower, as Kong's upgrade tests check each migration: the
/// previous release (0.1.0, built from its tag) against the schema after 'migrations up', this release
/// after 'up' beside it, and this release after 'migrations finish'. One database, nodes of both releases.
/// </summary>
public sealed class Core002ConsumerUsernameLowerPhaseTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private const string Migration = "002_consumer_username_lower";

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Old_release_keeps_working_after_up_new_release_folds_case_after_up_and_finish_makes_it_unique(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UsePreviousRelease();
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        await using var oldNode = gantry.Start("start");
        await oldNode.WaitForOutputAsync($"Gantry {PreviousRelease.Version} started", TimeSpan.FromSeconds(60));
        var oldAdmin = gantry.AdminUrl;
        await CreateAsync(oldAdmin, new { username = "Alice" });
        await CreateAsync(oldAdmin, new { username = "bob" });
        var anonymous = (await CreateAsync(oldAdmin, new { custom_id = "no-username" })).GetProperty("id").GetString();

        // ---- up, from this release, while the old node serves ----
        var newEnvironment = OtherNode(gantry);
        var up = await GantryProcess.RunAsync(newEnvironment, "migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains($"core migrated up to: {Migration} (pending)", up.Stdout);
        Assert.Contains("backfill consumers completed: 3 rows", up.Stdout);

        // The old release after up: reads and writes consumers as before, and its writes get the folded value.
        Assert.Equal("Alice", (await GetAsync(oldAdmin, "/consumers/Alice")).GetProperty("username").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(oldAdmin + "/consumers/alice")).StatusCode);
        await CreateAsync(oldAdmin, new { username = "Carol" });
        Assert.Equal(HttpStatusCode.OK, (await Http.PatchAsJsonAsync(oldAdmin + "/consumers/bob", new { username = "Bobby" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.PatchAsJsonAsync(oldAdmin + "/consumers/" + anonymous, new { tags = new[] { "t" } })).StatusCode);
        Assert.Equal(4, (await GetAsync(oldAdmin, "/consumers")).GetProperty("data").GetArrayLength());
        Assert.Equal("alice,bobby,carol,(null)", await FoldedAsync(gantry));
        // A restart of an old node after up works too (it warns of migrations of a newer release).
        var oldList = await gantry.RunAsync("migrations", "list");
        Assert.True(oldList.ExitCode == 0, oldList.ToString());

        // This release after up, beside the old node: any casing finds a consumer, including ones the old node writes now.
        await using var newNode = GantryProcess.Start(newEnvironment, "start");
        await newNode.WaitForOutputAsync($"Gantry {Gantry.GantryInfo.BuildVersion} started", TimeSpan.FromSeconds(60));
        var newAdmin = "http://" + newEnvironment["GANTRY_ADMIN_LISTEN"];
        var alice = await GetAsync(newAdmin, "/consumers/ALICE");
        Assert.Equal("Alice", alice.GetProperty("username").GetString());
        Assert.False(alice.TryGetProperty("username_lower", out _));
        Assert.Equal("Carol", (await GetAsync(newAdmin, "/consumers?username=carol")).GetProperty("data")[0].GetProperty("username").GetString());
        await CreateAsync(oldAdmin, new { username = "Dave" });
        Assert.Equal("Dave", (await GetAsync(newAdmin, "/consumers/dAVE")).GetProperty("username").GetString());
        // Writes wait for finish on the new release (docs/upgrade.md).
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.PostAsJsonAsync(newAdmin + "/consumers", new { username = "erin" })).StatusCode);

        // ---- finish, once the old node is gone ----
        await oldNode.DisposeAsync();
        var finish = await GantryProcess.RunAsync(newEnvironment, "migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Contains($"core migrated up to: {Migration} (executed)", finish.Stdout);
        Assert.False(await SyncTriggerExistsAsync(gantry));

        // This release after finish: writes fold case themselves (the trigger is gone) and refuse a clash in any casing.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        HttpResponseMessage created;
        do
        {
            await Task.Delay(200);
            created = await Http.PostAsJsonAsync(newAdmin + "/consumers", new { username = "Erin" });
        }
        while (created.StatusCode == HttpStatusCode.ServiceUnavailable && clock.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var clash = await Http.PostAsJsonAsync(newAdmin + "/consumers", new { username = "aLiCe" });
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Equal("UNIQUE violation detected on '{username=\"aLiCe\"}'", (await clash.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Http.PatchAsJsonAsync(newAdmin + "/consumers/erin", new { username = "ERIN2" })).StatusCode);
        Assert.Equal("alice,bobby,carol,dave,erin2,(null)", await FoldedAsync(gantry));
        // The unique index holds even for a writer that skips the Admin API.
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            gantry.ExecuteAsync($"INSERT INTO consumers (id, created_at, updated_at, username, username_lower) VALUES ('{Guid.NewGuid()}', 0, 0, 'CAROL', 'carol')"));

        // Fencing: the previous release can no longer start on this database.
        var fenced = await gantry.RunAsync("start");
        Assert.NotEqual(0, fenced.ExitCode);
        Assert.Contains($"Gantry {PreviousRelease.Version} can no longer run against it", fenced.Stderr);
    }

    [Fact]
    public async Task Finish_refuses_usernames_that_differ_only_in_case_and_succeeds_once_one_is_renamed()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        gantry.UsePreviousRelease();
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await using var oldNode = gantry.Start("start");
        await oldNode.WaitForOutputAsync($"Gantry {PreviousRelease.Version} started", TimeSpan.FromSeconds(60));
        // The previous release compares usernames exactly, before and after up.
        await CreateAsync(gantry.AdminUrl, new { username = "Zed" });
        var newEnvironment = OtherNode(gantry);
        Assert.Equal(0, (await GantryProcess.RunAsync(newEnvironment, "migrations", "up")).ExitCode);
        await CreateAsync(gantry.AdminUrl, new { username = "zed" });

        var refused = await GantryProcess.RunAsync(newEnvironment, "migrations", "finish");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"Error: migration core/{Migration} cannot finish: these consumers clash once username_lower must be unique: 'Zed', 'zed'. "
            + "Nothing was changed by this step; rename all but one consumer of each casing", refused.Stderr);
        Assert.Null(await gantry.ScalarAsync("SELECT to_regclass('consumers_username_lower_key')::text"));

        // Renamed through the old node (the new one refuses writes until finish), finish completes.
        Assert.Equal(HttpStatusCode.OK, (await Http.PatchAsJsonAsync(gantry.AdminUrl + "/consumers/zed", new { username = "zed-2" })).StatusCode);
        var finish = await GantryProcess.RunAsync(newEnvironment, "migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Equal(true, await gantry.ScalarAsync("SELECT indisvalid FROM pg_index WHERE indexrelid = 'consumers_username_lower_key'::regclass"));
    }

    private static async Task<JsonElement> CreateAsync(string admin, object body)
    {
        var response = await Http.PostAsJsonAsync(admin + "/consumers", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> GetAsync(string admin, string path)
    {
        var response = await Http.GetAsync(admin + path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Every consumer's username_lower, sorted, nulls last.</summary>
    private static async Task<string> FoldedAsync(TestInstallation gantry)
    {
        await using var connection = await gantry.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT username_lower FROM consumers ORDER BY username_lower IS NULL, username_lower";
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            values.Add(reader.IsDBNull(0) ? "(null)" : reader.GetString(0));
        return string.Join(",", values);
    }

    private static async Task<bool> SyncTriggerExistsAsync(TestInstallation gantry) => gantry.IsPostgres
        ? await gantry.CountAsync("SELECT count(*) FROM pg_trigger WHERE tgname = 'consumers_username_lower_sync'") > 0
        : await gantry.CountAsync("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'consumers_username_lower_sync%'") > 0;

    /// <summary>A node of this release beside the installation's own: its own prefix and ports, the same database.</summary>
    private static Dictionary<string, string> OtherNode(TestInstallation gantry)
    {
        var environment = new Dictionary<string, string>(gantry.Environment)
        {
            ["GANTRY_PREFIX"] = Path.Combine(gantry.Prefix, "new-node"),
            ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        };
        environment.Remove(PreviousRelease.BuildVariable);
        if (!gantry.IsPostgres)
            environment["GANTRY_SQLITE_PATH"] = gantry.SqlitePath;
        return environment;
    }
}
