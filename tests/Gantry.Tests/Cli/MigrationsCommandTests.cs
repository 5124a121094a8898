using System.Text.Json;
using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary>Every migrations command's message and exit code in each database state, on both stores.</summary>
public sealed class MigrationsCommandTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Fresh_database_needs_bootstrap_and_only_bootstrap_changes_that(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);

        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(3, list.ExitCode);
        Assert.Contains("Database needs bootstrapping; run 'gantry migrations bootstrap'", list.Stdout);

        var up = await gantry.RunAsync("migrations", "up");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("Error: Database needs bootstrapping", up.Stderr);

        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.Equal(1, finish.ExitCode);
        Assert.Contains("Error: Database needs bootstrapping", finish.Stderr);

        var status = JsonDocument.Parse((await gantry.RunAsync("migrations", "status")).Stdout).RootElement;
        Assert.True(status.GetProperty("needs_bootstrap").GetBoolean());
        Assert.Equal("core", status.GetProperty("new_migrations")[0].GetProperty("subsystem").GetString());
        Assert.False(await gantry.TableExistsAsync("services"));

        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        Assert.Contains("Bootstrapping database...", bootstrap.Stdout);
        Assert.Contains("migrating core on database '", bootstrap.Stdout);
        Assert.Contains("core migrated up to: 001_composite_uniques (executed)", bootstrap.Stdout);
        Assert.Contains("core migrated up to: 002_consumer_username_lower (executed)", bootstrap.Stdout);
        Assert.Contains("core migrated up to: 003_clustering_data_planes (executed)", bootstrap.Stdout);
        // plugins = bundled by default: core and the eight bundled plugins that own tables.
        Assert.Contains("key-auth migrated up to: 000_base_key_auth (executed)", bootstrap.Stdout);
        Assert.Contains("core migrated up to: 004_routes_expression (executed)", bootstrap.Stdout);
        Assert.Contains("13 migrations processed", bootstrap.Stdout);
        Assert.Matches(@"took \d+\.\d\ds", bootstrap.Stdout);
        Assert.Contains("Database is up-to-date", bootstrap.Stdout);
        foreach (var table in new[] { "services", "routes", "consumers", "plugins", "upstreams", "targets", "certificates", "snis", "ca_certificates", "tags", "cluster_events", "keys", "key_sets", "vaults", "clustering_data_planes" })
            Assert.True(await gantry.TableExistsAsync(table), $"table {table} is missing after bootstrap");

        var again = await gantry.RunAsync("migrations", "bootstrap");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("Database already bootstrapped", again.Stdout);

        list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("Executed migrations:", list.Stdout);
        Assert.Contains("core: 000_base", list.Stdout);
        Assert.Contains("Database is up-to-date", list.Stdout);

        up = await gantry.RunAsync("migrations", "up");
        Assert.Equal(0, up.ExitCode);
        Assert.Contains("Database is already up-to-date", up.Stdout);

        finish = await gantry.RunAsync("migrations", "finish");
        Assert.Equal(0, finish.ExitCode);
        Assert.Contains("No pending migrations to finish", finish.Stdout);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Upgrade_goes_from_new_to_pending_to_up_to_date(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);

        gantry.UseRelease(Releases.B);
        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(5, list.ExitCode);
        Assert.Contains("New migrations available:", list.Stdout);
        Assert.Contains("blue: 003_label, 004_label_index", list.Stdout);
        Assert.Contains("Run 'gantry migrations up' to proceed".ToLowerInvariant(), list.Stdout.ToLowerInvariant());

        var finishEarly = await gantry.RunAsync("migrations", "finish");
        Assert.Equal(0, finishEarly.ExitCode);
        Assert.Contains("No pending migrations to finish", finishEarly.Stdout);
        Assert.Contains("New migrations available; run 'gantry migrations up' to proceed", finishEarly.Stdout);

        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("migrating blue on database '", up.Stdout);
        Assert.Contains("blue migrated up to: 003_label (pending)", up.Stdout);
        Assert.Contains("1 pending", up.Stdout);
        Assert.Contains("Database has pending migrations; run 'gantry migrations finish' when ready", up.Stdout);
        Assert.True(await gantry.ColumnExistsAsync("items", "label"));
        Assert.True(await gantry.ColumnExistsAsync("items", "name"));

        list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(4, list.ExitCode);
        Assert.Contains("Pending migrations:", list.Stdout);
        Assert.Contains("blue: 003_label", list.Stdout);

        var status = JsonDocument.Parse((await gantry.RunAsync("migrations", "status")).Stdout).RootElement;
        Assert.False(status.GetProperty("needs_bootstrap").GetBoolean());
        Assert.Equal("003_label", status.GetProperty("pending_migrations")[0].GetProperty("migrations")[0].GetString());

        var upAgain = await gantry.RunAsync("migrations", "up");
        Assert.Equal(1, upAgain.ExitCode);
        Assert.Contains("Error: Database has pending migrations from an earlier upgrade (blue: 003_label); run 'gantry migrations finish'", upAgain.Stderr);

        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Contains("blue migrated up to: 003_label (executed)", finish.Stdout);
        Assert.Contains("Database is up-to-date", finish.Stdout);
        Assert.False(await gantry.ColumnExistsAsync("items", "name"));

        list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("blue: 001_items, 002_items_name_index, 003_label, 004_label_index", list.Stdout);

        var finishAgain = await gantry.RunAsync("migrations", "finish");
        Assert.Equal(0, finishAgain.ExitCode);
        Assert.Contains("No pending migrations to finish", finishAgain.Stdout);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task List_with_pending_and_new_migrations_exits_4_and_says_both(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);

        gantry.UseRelease(Releases.BWithGreen);
        var list = await gantry.RunAsync("migrations", "list");
        Assert.True(list.ExitCode == 4, list.ToString());
        Assert.Contains("green: 001_g", list.Stdout);
        Assert.Contains("Database has pending migrations from a previous upgrade, and new migrations from this upgrade", list.Stdout);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Interrupted_bootstrap_is_reported_and_then_completed(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.Broken(fixedUp: false));
        // Only core and the broken subsystem: the completion below must show that core is not run again.
        gantry.Environment["GANTRY_PLUGINS"] = "off";

        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.Equal(1, bootstrap.ExitCode);
        Assert.Contains("Error: migration broken/002_bad failed in its up step and was rolled back, so it is not recorded", bootstrap.Stderr);
        Assert.DoesNotContain("Database is up-to-date", bootstrap.Stdout);
        Assert.True(await gantry.TableExistsAsync("ok_t"));
        Assert.False(await gantry.TableExistsAsync("bad_t"));

        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(3, list.ExitCode);
        Assert.Contains("Database bootstrap did not complete", list.Stdout);
        var again = await gantry.RunAsync("migrations", "bootstrap");
        Assert.Equal(1, again.ExitCode);
        Assert.DoesNotContain("already bootstrapped", again.All);
        var up = await gantry.RunAsync("migrations", "up");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("the bootstrap of this database did not complete; run 'gantry migrations bootstrap' to complete it", up.Stderr);
        var start = await gantry.RunAsync("start");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("did not complete", start.Stderr);

        gantry.UseRelease(Releases.Broken(fixedUp: true));
        var complete = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(complete.ExitCode == 0, complete.ToString());
        Assert.Contains("Completing an interrupted bootstrap...", complete.Stdout);
        Assert.Contains("broken migrated up to: 002_bad (executed)", complete.Stdout);
        Assert.DoesNotContain("000_base", complete.Stdout);
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM bad_t"));
        Assert.Equal(0, (await gantry.RunAsync("migrations", "list")).ExitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Reset_requires_yes_without_a_terminal_and_drops_everything(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        var nothing = await gantry.RunAsync("migrations", "reset", "--yes");
        Assert.Equal(0, nothing.ExitCode);
        Assert.Contains("Database not bootstrapped, nothing to reset", nothing.Stdout);

        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);

        var refused = await gantry.RunAsync("migrations", "reset");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("not a terminal: run 'gantry migrations reset --yes'", refused.Stderr);
        Assert.True(await gantry.TableExistsAsync("services"));

        var reset = await gantry.RunAsync("migrations", "reset", "--yes");
        Assert.Equal(0, reset.ExitCode);
        Assert.Contains("Database successfully reset", reset.Stdout);
        Assert.False(await gantry.TableExistsAsync("services"));
        Assert.False(await gantry.TableExistsAsync("items"));
        Assert.False(await gantry.TableExistsAsync("gantry_migrations"));
        Assert.Equal(3, (await gantry.RunAsync("migrations", "list")).ExitCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Bootstrap_force_resets_first(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO parameters (key, value) VALUES ('marker', 'x')");

        var forced = await gantry.RunAsync("migrations", "bootstrap", "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Contains("Database reset (--force)", forced.Stdout);
        Assert.Contains("core migrated up to: 000_base (executed)", forced.Stdout);
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM parameters"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Enabling_a_plugin_brings_its_migrations(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.AuditPlugin);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        Assert.False(await gantry.TableExistsAsync("x_audit_entries"));

        gantry.Environment["GANTRY_PLUGINS"] = "bundled,x-audit";
        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(5, list.ExitCode);
        Assert.Contains("x-audit: 000_base_x_audit", list.Stdout);
        var start = await gantry.RunAsync("start");
        Assert.Equal(1, start.ExitCode);
        Assert.Contains("New migrations available (x-audit: 000_base_x_audit); run 'gantry migrations up' to proceed", start.Stderr);

        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("x-audit migrated up to: 000_base_x_audit (executed)", up.Stdout);
        Assert.True(await gantry.TableExistsAsync("x_audit_entries"));

        gantry.Environment["GANTRY_PLUGINS"] = "bundled,x-nope";
        var unknown = await gantry.RunAsync("migrations", "list");
        Assert.Equal(10, unknown.ExitCode);
        Assert.Contains("plugins: plugin 'x-nope' is not installed", unknown.Stderr);
    }

    [Fact]
    public async Task Unknown_subcommand_is_a_usage_error()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var result = await gantry.RunAsync("migrations", "sideways");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Error:", result.Stderr);
        Assert.Contains("sideways", result.Stderr);
    }
}

/// <summary>PostgreSQL specifics: pg_schema, and what --v shows.</summary>
public sealed class PostgresMigrationsTests
{
    [Fact]
    public async Task Pg_schema_holds_every_table_and_reset_leaves_other_schemas_alone()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        gantry.Environment["GANTRY_PG_SCHEMA"] = "gateway";
        await gantry.ExecuteAsync("CREATE TABLE public.unrelated (x int)");

        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'gateway' AND tablename = 'services'"));
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'services'"));
        Assert.Equal(0, (await gantry.RunAsync("migrations", "list")).ExitCode);

        Assert.Equal(0, (await gantry.RunAsync("migrations", "reset", "--yes")).ExitCode);
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'gateway'"));
        Assert.True(await gantry.TableExistsAsync("unrelated"));
    }

    [Fact]
    public async Task Verbose_flag_prints_the_sql_each_migration_runs()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap", "--v");
        Assert.Equal(0, bootstrap.ExitCode);
        Assert.Contains("[verbose] core/000_base: CREATE TABLE IF NOT EXISTS \"services\"", bootstrap.Stderr);
    }
}
