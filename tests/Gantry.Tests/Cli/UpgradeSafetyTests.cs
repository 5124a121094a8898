using System.Diagnostics;
using System.Text.Json;
using Gantry.Tests.Support;
using Npgsql;

namespace Gantry.Tests.Cli;

/// <summary>plan, lock discipline, concurrent index builds, repair and rollback.</summary>
public sealed class UpgradeSafetyTests
{
    private static async Task<List<(string Migration, string Phase, int Step, string Statements)>> JournalAsync(TestInstallation gantry, string subsystem)
    {
        await using var connection = await gantry.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT migration, phase, step, statements FROM gantry_migration_steps WHERE subsystem = '{subsystem}' AND state = 'completed' ORDER BY migration, phase, step";
        var rows = new List<(string, string, int, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.GetString(1), Convert.ToInt32(reader.GetValue(2)) + 1, reader.GetString(3)));
        return rows;
    }

    private static List<(string Migration, string Phase, int Step, string Statements)> Steps(JsonElement plan) =>
        plan.GetProperty("steps").EnumerateArray().Select(s => (
            s.GetProperty("migration").GetString()!,
            s.GetProperty("phase").GetString()!,
            s.GetProperty("step").GetInt32(),
            string.Join(";\n", s.GetProperty("statements").EnumerateArray().Select(x => x.GetString())))).ToList();

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Plan_shows_what_up_and_finish_then_run_and_changes_nothing(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')");
        gantry.UseRelease(Releases.B);

        var planUp = await gantry.RunAsync("migrations", "plan", "up", "--json");
        Assert.True(planUp.ExitCode == 0, planUp.ToString());
        var upPlan = JsonDocument.Parse(planUp.Stdout).RootElement;
        Assert.Equal(JsonValueKind.Null, upPlan.GetProperty("refusal").ValueKind);
        var first = upPlan.GetProperty("steps")[0];
        Assert.Equal("003_label", first.GetProperty("migration").GetString());
        Assert.Equal("add column label to items", first.GetProperty("description").GetString());
        Assert.Equal(3, first.GetProperty("estimated_rows").GetInt64());
        Assert.False(first.GetProperty("rewrites").GetBoolean());
        Assert.Empty(first.GetProperty("warnings").EnumerateArray());
        var index = upPlan.GetProperty("steps")[1];
        Assert.Equal("004_label_index", index.GetProperty("migration").GetString());
        if (store == "postgres")
        {
            Assert.Equal("ACCESS EXCLUSIVE", first.GetProperty("lock").GetString());
            Assert.Equal("SHARE UPDATE EXCLUSIVE", index.GetProperty("lock").GetString());
            Assert.False(index.GetProperty("transactional").GetBoolean());
            Assert.Contains("CREATE INDEX CONCURRENTLY", index.GetProperty("statements")[0].GetString());
        }
        var human = await gantry.RunAsync("migrations", "plan", "up");
        Assert.Contains("blue/003_label up step 1: add column label to items", human.Stdout);
        Assert.Contains("nothing was changed", human.Stdout);

        // Planning changed nothing.
        Assert.Equal(5, (await gantry.RunAsync("migrations", "list")).ExitCode);
        Assert.False(await gantry.ColumnExistsAsync("items", "label"));

        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        var ranUp = (await JournalAsync(gantry, "blue")).Where(r => r.Phase == "up" && r.Migration is "003_label" or "004_label_index").ToList();
        Assert.Equal(Steps(upPlan), ranUp);

        var finishPlan = JsonDocument.Parse((await gantry.RunAsync("migrations", "plan", "finish", "--json")).Stdout).RootElement;
        Assert.Equal(3, finishPlan.GetProperty("steps")[0].GetProperty("estimated_rows").GetInt64());
        Assert.Equal(0, (await gantry.RunAsync("migrations", "finish")).ExitCode);
        var ranFinish = (await JournalAsync(gantry, "blue")).Where(r => r.Phase == "finish").ToList();
        Assert.Equal(Steps(finishPlan), ranFinish);

        var nothing = JsonDocument.Parse((await gantry.RunAsync("migrations", "plan", "finish", "--json")).Stdout).RootElement;
        Assert.Equal("No pending migrations to finish", nothing.GetProperty("refusal").GetString());
        Assert.Empty(nothing.GetProperty("steps").EnumerateArray());
    }

    [Fact]
    public async Task Ddl_blocked_by_a_long_transaction_retries_reports_the_blocker_and_never_stalls_traffic_beyond_the_lock_timeout()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (1, 'one')");
        var connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString(gantry.Environment["GANTRY_PG_DATABASE"])) { ApplicationName = "long-reader" }.ConnectionString;

        // A reader that keeps its transaction (and its ACCESS SHARE lock on items) open.
        await using var blocker = new NpgsqlConnection(connectionString);
        await blocker.OpenAsync();
        var blockerTransaction = await blocker.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM items", blocker, blockerTransaction))
            await read.ExecuteScalarAsync();

        gantry.UseRelease(Releases.B);
        var up = gantry.Start("migrations", "up", "--ddl-lock-timeout", "1000");
        // Measure traffic only once the DDL is really queued behind the reader (start-up is slow on a busy machine).
        await up.WaitForOutputAsync("could not get its ACCESS EXCLUSIVE on items lock", TimeSpan.FromSeconds(90));

        // Ordinary traffic meanwhile. Without the lock timeout, the DDL queued behind the reader would hold every
        // statement on items until the reader commits, which is only after this loop: the first statement would
        // wait out the whole window (and the command timeout). With it, a statement waits at most about one lock
        // timeout (1 s). The bound leaves room for a loaded machine (2 cores shared with the whole suite) and still
        // stays well below the 6 s window.
        var worst = TimeSpan.Zero;
        var traffic = Stopwatch.StartNew();
        await using (var client = new NpgsqlConnection(PostgresServer.ConnectionString(gantry.Environment["GANTRY_PG_DATABASE"])))
        {
            await client.OpenAsync();
            var id = 100;
            while (traffic.Elapsed < TimeSpan.FromSeconds(6))
            {
                var one = Stopwatch.StartNew();
                await using (var write = new NpgsqlCommand($"INSERT INTO items (id, name) VALUES ({id++}, 'w')", client))
                    await write.ExecuteNonQueryAsync();
                await using (var read = new NpgsqlCommand("SELECT count(*) FROM items", client))
                    await read.ExecuteScalarAsync();
                worst = one.Elapsed > worst ? one.Elapsed : worst;
                await Task.Delay(50);
            }
        }
        Assert.False(up.HasExited, "up should still be waiting for its lock: " + up.Stdout + up.Stderr);
        await blockerTransaction.CommitAsync();

        var result = await up.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("blue/003_label: up step 1 (add column label to items) could not get its ACCESS EXCLUSIVE on items lock within 1000 ms", result.Stdout);
        Assert.Contains("blocked by pid " + blocker.ProcessID + " ('long-reader'), idle in transaction", result.Stdout);
        Assert.Contains("retry 2 in", result.Stdout);
        Assert.Contains("blue migrated up to: 003_label (pending)", result.Stdout);
        Assert.True(await gantry.ColumnExistsAsync("items", "label"));
        Assert.True(worst < TimeSpan.FromMilliseconds(3500), $"a statement of ordinary traffic waited {worst.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Failed_concurrent_index_build_leaves_an_invalid_index_that_repair_and_the_rerun_handle()
    {
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (1, 'same'), (2, 'same'), (3, 'other')");
        gantry.UseRelease(Releases.UniqueNames);

        var failed = await gantry.RunAsync("migrations", "up");
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("migration blue/003_unique_name failed in its up step", failed.Stderr);
        Assert.Equal(false, await gantry.ScalarAsync("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name_key'::regclass"));

        var repair = await gantry.RunAsync("migrations", "repair");
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.Contains("blue/003_unique_name up step 1 (create unique index items_name_key on items concurrently): an interrupted build left its index invalid; dropped it", repair.Stdout);
        Assert.Null(await gantry.ScalarAsync("SELECT to_regclass('items_name_key')::text"));
        Assert.Contains("nothing to repair", (await gantry.RunAsync("migrations", "repair")).Stdout);

        // Interrupted again (the build fails the same way), then fixed data: the rerun drops the invalid index itself and builds it.
        Assert.Equal(1, (await gantry.RunAsync("migrations", "up")).ExitCode);
        await gantry.ExecuteAsync("UPDATE items SET name = 'unique' WHERE id = 2");
        var rerun = await gantry.RunAsync("migrations", "up", "--v");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Contains("index items_name_key was left invalid by an earlier attempt; dropping it to build it again", rerun.Stderr);
        Assert.Equal(true, await gantry.ScalarAsync("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name_key'::regclass"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Repair_reports_a_recorded_step_whose_effect_was_removed_by_hand(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        Assert.Contains("nothing to repair", (await gantry.RunAsync("migrations", "repair")).Stdout);

        await gantry.ExecuteAsync("DROP INDEX items_label_idx");
        var repair = await gantry.RunAsync("migrations", "repair");
        Assert.Equal(1, repair.ExitCode);
        Assert.Contains("blue/004_label_index up step 1 (create index items_label_idx on items concurrently): recorded as done, but the database lacks: create index items_label_idx on items concurrently (absent)", repair.Stderr);
    }

    /// <summary>Tables, columns and indexes of the schema, and every row of items: what the previous release sees.</summary>
    private static async Task<string> SnapshotAsync(TestInstallation gantry)
    {
        var sql = gantry.IsPostgres
            ? """
              SELECT string_agg(x, E'\n' ORDER BY x) FROM (
                SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS x FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'gantry_%'
                UNION ALL SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE 'gantry_%'
                UNION ALL SELECT 'item ' || id || ' ' || name FROM items) s
              """
            : """
              SELECT group_concat(x, char(10)) FROM (SELECT x FROM (
                SELECT 'object ' || type || ' ' || name || ': ' || coalesce(sql, '') AS x FROM sqlite_master WHERE name NOT LIKE 'gantry_%' AND name NOT LIKE 'sqlite_%'
                UNION ALL SELECT 'item ' || id || ' ' || name FROM items) ORDER BY x)
              """;
        return (string)(await gantry.ScalarAsync(sql))!;
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Rollback_after_up_restores_what_the_previous_release_expects(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two')");
        var nothing = await gantry.RunAsync("migrations", "rollback");
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("nothing to roll back: no upgrade is between 'migrations up' and 'migrations finish'", nothing.Stderr);

        var before = await SnapshotAsync(gantry);

        // The old release writes during the expand phase; that row must survive the rollback.
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        await gantry.ExecuteAsync("INSERT INTO items (id, name) VALUES (3, 'three')");
        await gantry.ExecuteAsync("UPDATE items SET label = 'new release data'");
        var expected = string.Join("\n", before.Split('\n').Append("item 3 three").Order(StringComparer.Ordinal));
        Assert.NotEqual(expected, await SnapshotAsync(gantry));

        gantry.UseRelease(Releases.B);
        var plan = JsonDocument.Parse((await gantry.RunAsync("migrations", "plan", "rollback", "--json")).Stdout).RootElement;
        Assert.Equal(["004_label_index", "003_label"], plan.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("migration").GetString()));
        var rollback = await gantry.RunAsync("migrations", "rollback");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Contains("blue rolled back: 004_label_index", rollback.Stdout);
        Assert.Contains("blue rolled back: 003_label", rollback.Stdout);
        Assert.Contains("2 migrations rolled back", rollback.Stdout);

        // Release A sees exactly its schema and data again, and its checks pass.
        gantry.UseRelease(Releases.A);
        Assert.Equal(expected, string.Join("\n", (await SnapshotAsync(gantry)).Split('\n').Order(StringComparer.Ordinal)));
        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.DoesNotContain("does not know", list.Stdout);
        var status = JsonDocument.Parse((await gantry.RunAsync("migrations", "status")).Stdout).RootElement;
        Assert.Empty(status.GetProperty("unknown_migrations").EnumerateArray());

        // B can upgrade again; once finished, rollback refuses and says why.
        gantry.UseRelease(Releases.B);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "finish")).ExitCode);
        var refused = await gantry.RunAsync("migrations", "rollback");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("the last upgrade was finished at", refused.Stderr);
        Assert.Contains("blue/003_label", refused.Stderr);
        Assert.Contains("cannot be undone", refused.Stderr);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Rollback_refuses_before_changing_anything_when_an_operation_has_no_undo(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Releases.A);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.Irreversible);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);

        var rollback = await gantry.RunAsync("migrations", "rollback");
        Assert.Equal(1, rollback.ExitCode);
        Assert.Contains("cannot roll back: these operations declare no undo, so nothing was changed", rollback.Stderr);
        Assert.Contains("blue/003_seed: sql: seed the defaults", rollback.Stderr);
        Assert.True(await gantry.ColumnExistsAsync("items", "label"));
        Assert.Equal(4, (await gantry.RunAsync("migrations", "list")).ExitCode);
    }
}
