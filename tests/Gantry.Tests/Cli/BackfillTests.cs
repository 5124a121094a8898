using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Cli;

/// <summary>
/// Batched, resumable backfills through bin/gantry on real databases: under concurrent writes, killed
/// half-way, planned, rolled back. Each row counts how often the backfill updated it (touches), so that a
/// batch redone or skipped after a resume shows up in the data, not only in the output.
/// </summary>
public sealed partial class BackfillTests(ITestOutputHelper log)
{
    private const int SeedRows = 200_000;

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Backfill_of_200k_rows_finishes_under_concurrent_writes_and_every_row_is_correct(string store)
    {
        await using var gantry = await SeededAsync(store, SeedRows);
        gantry.UseRelease(Release(batchSize: 1000, pauseMs: 0, filter: "label IS NULL"));

        using var stop = new CancellationTokenSource();
        var writer = new Writer(gantry, SeedRows);
        var writing = writer.RunAsync(stop.Token);
        await writer.WaitForWritesAsync(20);

        var clock = Stopwatch.StartNew();
        var writesBefore = writer.Writes;
        var up = await gantry.RunAsync("migrations", "up");
        var took = clock.Elapsed;
        var writesDuring = writer.Writes - writesBefore;
        // Keep writing a little after the backfill: those rows are the trigger's alone.
        await writer.WaitForWritesAsync(writer.Writes + 20);
        stop.Cancel();
        await writing;

        Assert.True(up.ExitCode == 0, up.ToString());
        // The bound is taken after the trigger is in place, so it also covers what the writer inserted before that.
        var bound = Regex.Match(up.Stdout, @"shop/002_label: backfill items: (\d+) rows up to id (\d+), in batches of 1000");
        Assert.True(bound.Success, up.ToString());
        Assert.InRange(long.Parse(bound.Groups[1].Value, CultureInfo.InvariantCulture), SeedRows, SeedRows + writer.Inserts);
        Assert.Contains("shop migrated up to: 002_label (pending)", up.Stdout);
        log.WriteLine($"{store}: {Summary(up.Stdout)}; 'up' took {took.TotalSeconds:F1}s; {writesDuring} concurrent writes during it, {writer.Writes} in all");
        Assert.True(writer.Errors == 0, $"{writer.Errors} writer errors, first: {writer.FirstError}");
        Assert.True(writesDuring >= 20, $"only {writesDuring} writes ran during the backfill");

        Assert.Equal(0, await gantry.CountAsync($"SELECT count(*) FROM items WHERE {NotEqual(store, "label", "upper(name)")}"));
        Assert.Equal(SeedRows + writer.Inserts, await gantry.CountAsync("SELECT count(*) FROM items"));
        // The filter skips rows the writer's trigger already filled; every other row existing at the start is updated exactly once.
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches > 1"));
        var updatedByWriter = writer.UpdatedIds.Keys.ToHashSet();
        var untouchedOnce = await IdsAsync(gantry, $"SELECT id FROM items WHERE id <= {SeedRows} AND touches <> 1");
        Assert.DoesNotContain(untouchedOnce, id => !updatedByWriter.Contains(id));
        Assert.NotNull(await gantry.ScalarAsync(
            "SELECT completed_at FROM gantry_backfill_checkpoints WHERE subsystem = 'shop' AND migration = '002_label'"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Backfill_killed_half_way_resumes_from_its_checkpoint_without_redoing_a_batch(string store)
    {
        await using var gantry = await SeededAsync(store, SeedRows);
        // The pause stretches the run so that the kill lands between the first and the last batch.
        gantry.UseRelease(Release(batchSize: 1000, pauseMs: 10, filter: null));

        long doneAtKill;
        await using (var victim = gantry.Start("migrations", "up"))
        {
            var clock = Stopwatch.StartNew();
            while (await RowsDoneAsync(gantry) < 20_000)
            {
                Assert.False(victim.HasExited, $"up exited before the kill:\n{victim.Stdout}\n{victim.Stderr}");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the backfill made no progress within 60 s");
                await Task.Delay(20);
            }
            victim.KillHard();
            await victim.WaitAsync(TimeSpan.FromSeconds(10));
            doneAtKill = await RowsDoneAsync(gantry);
        }
        log.WriteLine($"{store}: killed with {doneAtKill} of {SeedRows} rows done");
        Assert.InRange(doneAtKill, 1, SeedRows - 1);
        // The checkpoint committed with each batch: exactly the rows it counts were updated, once, and no others.
        Assert.Equal(doneAtKill, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches = 1"));
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches > 1"));
        var lastKey = Convert.ToInt64(await gantry.ScalarAsync("SELECT last_key FROM gantry_backfill_checkpoints WHERE subsystem = 'shop'"), CultureInfo.InvariantCulture);
        Assert.Equal(lastKey, await gantry.CountAsync("SELECT max(id) FROM items WHERE touches = 1"));

        var rerun = await gantry.RunAsync("migrations", "up", "--lock-timeout", "5");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Contains("shop/002_label: resuming at up step 2", rerun.Stdout);
        Assert.Contains($"backfill items resumed from its checkpoint after id {lastKey}: {doneAtKill} of {SeedRows} rows were done by an interrupted run", rerun.Stdout);
        Assert.Contains($"backfill items completed: {SeedRows} rows ({SeedRows} updated)", rerun.Stdout);
        log.WriteLine($"{store} (resumed run): {Summary(rerun.Stdout)}");

        Assert.Equal(SeedRows, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches = 1"));
        Assert.Equal(0, await gantry.CountAsync($"SELECT count(*) FROM items WHERE {NotEqual(store, "label", "upper(name)")}"));
        Assert.Equal(SeedRows, await gantry.CountAsync("SELECT rows_done FROM gantry_backfill_checkpoints WHERE subsystem = 'shop'"));

        // A kill after the last batch committed but before the step was journalled completed (played here by
        // forgetting that journal row and the record): the rerun finds the checkpoint completed and walks nothing again.
        await gantry.ExecuteAsync("UPDATE gantry_migration_steps SET state = 'started' WHERE migration = '002_label' AND phase = 'up' AND step = 1");
        await gantry.ExecuteAsync("DELETE FROM gantry_migrations WHERE name = '002_label'");
        var afterLastBatch = await gantry.RunAsync("migrations", "up");
        Assert.True(afterLastBatch.ExitCode == 0, afterLastBatch.ToString());
        Assert.Contains("backfill items already completed (200000 rows); nothing to do", afterLastBatch.Stdout);
        Assert.Contains("shop migrated up to: 002_label (pending)", afterLastBatch.Stdout);
        Assert.Equal(SeedRows, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches = 1"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Plan_up_shows_the_backfill_step_with_its_traits(string store)
    {
        await using var gantry = await SeededAsync(store, 5_000);
        gantry.UseRelease(Release(batchSize: 500, pauseMs: 0, filter: "label IS NULL"));

        var plan = await gantry.RunAsync("migrations", "plan", "up");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        Assert.Contains("shop/002_label up step 1: add column label to items; sync trigger items_label_sync on items: label = upper(NEW.name) on insert or update of name", plan.Stdout);
        Assert.Contains("shop/002_label up step 2: backfill items in batches of 500 by id: label = upper(name), touches = touches + 1 where label IS NULL", plan.Stdout);
        var lockName = store == "postgres" ? "ROW EXCLUSIVE" : "database write lock";
        Assert.Contains($"    lock {lockName} on items, ~5000 rows, no rewrite or scan, outside a transaction, retryable", plan.Stdout);
        Assert.Contains("UPDATE \"items\" SET label = upper(name), touches = touches + 1 WHERE \"id\" > :last_key AND \"id\" <= :batch_end AND (label IS NULL)", plan.Stdout);

        var json = await gantry.RunAsync("migrations", "plan", "up", "--json");
        var steps = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("steps");
        var backfill = steps[1];
        Assert.False(backfill.GetProperty("transactional").GetBoolean());
        Assert.True(backfill.GetProperty("retryable").GetBoolean());
        Assert.False(backfill.GetProperty("scans").GetBoolean());
        Assert.False(backfill.GetProperty("rewrites").GetBoolean());
        if (store == "postgres")
        {
            Assert.Equal("ROW EXCLUSIVE", backfill.GetProperty("lock").GetString());
            // Step 1 holds ADD COLUMN's ACCESS EXCLUSIVE, the strongest of its two operations (CREATE TRIGGER takes SHARE ROW EXCLUSIVE).
            Assert.Equal("ACCESS EXCLUSIVE", steps[0].GetProperty("lock").GetString());
            Assert.True(steps[0].GetProperty("transactional").GetBoolean());
        }
        // Nothing ran.
        Assert.False(await gantry.ColumnExistsAsync("items", "label"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Json_progress_then_rollback_forgets_the_backfill_and_removes_the_trigger(string store)
    {
        await using var gantry = await SeededAsync(store, 20_000);
        gantry.UseRelease(Release(batchSize: 500, pauseMs: 0, filter: "label IS NULL"));

        var up = await gantry.RunAsync("migrations", "up", "--progress", "json");
        Assert.True(up.ExitCode == 0, up.ToString());
        var events = up.Stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(events);
        var last = events[^1];
        Assert.Equal("backfill_progress", last.GetProperty("event").GetString());
        Assert.Equal("items", last.GetProperty("table").GetString());
        Assert.Equal(20_000, last.GetProperty("done").GetInt64());
        Assert.Equal(20_000, last.GetProperty("total").GetInt64());
        Assert.True(last.GetProperty("finished").GetBoolean());
        Assert.True(last.GetProperty("rate").GetDouble() > 0);
        Assert.Equal(0, last.GetProperty("eta_seconds").GetDouble());
        // JSON replaces the human progress lines; the summary stays.
        Assert.DoesNotMatch(@"rows/s, \S+ left", up.Stdout);
        Assert.Contains("backfill items completed: 20000 rows (20000 updated)", up.Stdout);

        var rollback = await gantry.RunAsync("migrations", "rollback");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.False(await gantry.ColumnExistsAsync("items", "label"));
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM gantry_backfill_checkpoints WHERE subsystem = 'shop'"));
        Assert.Equal(0, await gantry.CountAsync(store == "postgres"
            ? "SELECT count(*) FROM pg_trigger WHERE tgname = 'items_label_sync'"
            : "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"));
        // The previous release's writes still work without the trigger.
        await gantry.ExecuteAsync("INSERT INTO items (name) VALUES ('after-rollback')");

        // A new 'up' starts the backfill over, from a fresh bound, rather than trusting the forgotten checkpoint.
        await gantry.ExecuteAsync("UPDATE items SET touches = 0");
        var again = await gantry.RunAsync("migrations", "up");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("backfill items: 20001 rows up to id 20001", again.Stdout);
        Assert.Equal(20_001, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches = 1"));

        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        await gantry.ExecuteAsync("INSERT INTO items (name, label) VALUES ('after-finish', 'free')");
        Assert.Equal("free", await gantry.ScalarAsync("SELECT label FROM items WHERE name = 'after-finish'"));
    }

    [Fact]
    public async Task A_batch_that_hits_the_statement_timeout_is_rolled_back_and_retried_smaller()
    {
        await using var gantry = await SeededAsync("postgres", 40);
        // 30 ms per row (the subquery reads id, so it runs for each row): 40 rows take 1.2 s, over the 300 ms limit; halving reaches a batch that fits.
        gantry.UseRelease(Release(batchSize: 40, pauseMs: 0, filter: null,
            set: "label = upper(name) || (SELECT '' FROM pg_sleep(0.03 + 0 * id)), touches = touches + 1", statementTimeoutMs: 300));

        var up = await gantry.RunAsync("migrations", "up", "--v");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("canceling statement due to statement timeout", up.Stderr);
        Assert.Contains("with batches of 20", up.Stderr);
        Assert.Contains("backfill items completed: 40 rows (40 updated)", up.Stdout);
        Assert.Contains("batches shrank to 5 rows after hitting the 300 ms statement timeout", up.Stdout);
        // The timed-out attempts rolled back with their checkpoint moves: every row was updated exactly once.
        Assert.Equal(40, await gantry.CountAsync("SELECT count(*) FROM items WHERE touches = 1 AND label = upper(name)"));
    }

    /// <summary>Release 1 creates the table; release 2 adds label, keeps it in step with a trigger, and backfills it.</summary>
    private static string Release(int batchSize, int pauseMs, string? filter, bool withLabel = true,
        string set = "label = upper(name), touches = touches + 1", int statementTimeoutMs = 5000)
    {
        var items = """
            {"name": "001_items", "up": [{
              "postgres": "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, touches integer NOT NULL DEFAULT 0)",
              "sqlite": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, touches INTEGER NOT NULL DEFAULT 0)"}]}
            """;
        var label = $$$"""
            , {"name": "002_label",
               "up": [
                 {"add_column": {"table": "items", "name": "label", "type": "text"}},
                 {"sync_trigger": {"name": "items_label_sync", "table": "items", "column": "label", "sources": ["name"], "expression": "upper(NEW.name)"}},
                 {"backfill": {"table": "items", "key": "id", "set": "{{{set}}}", "statement_timeout_ms": {{{statementTimeoutMs}}},
                               {{{(filter is null ? "" : $"\"filter\": \"{filter}\",")}}} "batch_size": {{{batchSize}}}, "pause_ms": {{{pauseMs}}}}}],
               "finish": [{"drop_sync_trigger": {"name": "items_label_sync", "table": "items"}}]}
            """;
        return $$"""{"subsystems": [{"name": "shop", "migrations": [{{items}}{{(withLabel ? label : "")}}]}]}""";
    }

    private static async Task<TestInstallation> SeededAsync(string store, int rows)
    {
        var gantry = await TestInstallation.CreateAsync(store);
        gantry.UseRelease(Release(1000, 0, null, withLabel: false));
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        await gantry.ExecuteAsync(store == "postgres"
            ? $"INSERT INTO items (name) SELECT 'item-' || g FROM generate_series(1, {rows}) AS g; ANALYZE items"
            : $"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows}) INSERT INTO items (name) SELECT 'item-' || n FROM seq");
        return gantry;
    }

    private static async Task<long> RowsDoneAsync(TestInstallation gantry)
    {
        if (!await gantry.TableExistsAsync("gantry_backfill_checkpoints"))
            return 0;
        return Convert.ToInt64(await gantry.ScalarAsync("SELECT coalesce(max(rows_done), 0) FROM gantry_backfill_checkpoints"), CultureInfo.InvariantCulture);
    }

    private static async Task<List<long>> IdsAsync(TestInstallation gantry, string sql)
    {
        await using var connection = await gantry.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            ids.Add(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture));
        return ids;
    }

    private static string NotEqual(string store, string left, string right) =>
        store == "postgres" ? $"{left} IS DISTINCT FROM {right}" : $"{left} IS NOT {right}";

    private static string Summary(string stdout) => CompletedLine().Match(stdout).Value;

    [GeneratedRegex(@"backfill items completed: .*rows/s")]
    private static partial Regex CompletedLine();

    /// <summary>
    /// The previous release's traffic: one connection inserting rows and renaming random existing ones,
    /// each write its own short transaction, counting every failure.
    /// </summary>
    private sealed class Writer(TestInstallation gantry, int existingRows)
    {
        private long _writes;
        private long _inserts;
        private long _errors;

        public long Writes => Interlocked.Read(ref _writes);

        public long Inserts => Interlocked.Read(ref _inserts);

        public long Errors => Interlocked.Read(ref _errors);

        public string? FirstError { get; private set; }

        public ConcurrentDictionary<long, bool> UpdatedIds { get; } = new();

        public async Task WaitForWritesAsync(long count)
        {
            var clock = Stopwatch.StartNew();
            while (Writes < count && clock.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(10);
        }

        public async Task RunAsync(CancellationToken stop)
        {
            await using var connection = await gantry.OpenAsync();
            var random = new Random(42);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await using var command = connection.CreateCommand();
                    if (i % 2 == 0)
                    {
                        command.CommandText = "INSERT INTO items (name) VALUES (@name)";
                        Add(command, "name", $"new-{i}");
                        await command.ExecuteNonQueryAsync(CancellationToken.None);
                        Interlocked.Increment(ref _inserts);
                    }
                    else
                    {
                        var id = random.Next(1, existingRows + 1);
                        command.CommandText = "UPDATE items SET name = @name WHERE id = @id";
                        Add(command, "name", $"renamed-{i}");
                        Add(command, "id", (long)id);
                        // Recorded before the write: a write that fails still counts as an error, and may have landed.
                        UpdatedIds[id] = true;
                        await command.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                    Interlocked.Increment(ref _writes);
                }
                catch (DbException e)
                {
                    if (Interlocked.Increment(ref _errors) == 1)
                        FirstError = e.Message;
                }
                await Task.Delay(2, CancellationToken.None);
            }
        }

        private static void Add(DbCommand command, string name, object value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
    }
}
