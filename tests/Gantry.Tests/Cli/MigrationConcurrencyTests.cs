using Gantry.Tests.Support;

namespace Gantry.Tests.Cli;

/// <summary>The migration lock, racing processes, and a process killed in the middle of a step.</summary>
public sealed class MigrationConcurrencyTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Lock_held_by_another_process_times_out_naming_the_holder(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.Slow(delayMilliseconds: 20_000));

        await using var holder = gantry.Start("migrations", "up");
        await holder.WaitForOutputAsync("slow migrated up to: 001_fast", TimeSpan.FromSeconds(60));

        var waiter = await gantry.RunAsync("migrations", "up", "--lock-timeout", "1");
        Assert.True(waiter.ExitCode == 6, waiter.ToString());
        Assert.Contains("waiting up to 1s for the migration lock, held by", waiter.Stdout);
        Assert.Contains("Error: timed out after 1s waiting for the migration lock, held by", waiter.Stderr);
        // The holder is named: its program and process.
        Assert.Contains("gantry migrations up (pid " + holder.Pid, waiter.Stderr);
        Assert.Contains("nothing was changed", waiter.Stderr);

        var reset = await gantry.RunAsync("migrations", "reset", "--yes", "--lock-timeout", "1");
        Assert.Equal(6, reset.ExitCode);
        Assert.True(await gantry.TableExistsAsync("services"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Two_ups_at_once_apply_each_migration_exactly_once_and_both_tell_the_truth(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.Slow(delayMilliseconds: 2_000));

        var first = gantry.RunAsync("migrations", "up");
        var second = gantry.RunAsync("migrations", "up");
        var results = await Task.WhenAll(first, second);

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var applied = results.Single(r => r.Stdout.Contains("slow migrated up to: 003_after (executed)"));
        var waited = results.Single(r => r != applied);
        Assert.Contains("3 migrations processed", applied.Stdout);
        Assert.DoesNotContain("migrated up to", waited.Stdout);
        Assert.Contains("Database is already up-to-date", waited.Stdout);

        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM ledger WHERE migration = '001'"));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM ledger WHERE migration = '002'"));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM ledger WHERE migration = '003'"));
        Assert.Equal(3, await gantry.CountAsync("SELECT count(*) FROM gantry_migrations WHERE subsystem = 'slow'"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Process_killed_in_the_middle_of_a_step_leaves_nothing_half_done(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.Slow(delayMilliseconds: 3_000));

        await using (var victim = gantry.Start("migrations", "up"))
        {
            await victim.WaitForOutputAsync("slow migrated up to: 001_fast", TimeSpan.FromSeconds(60));
            victim.KillHard();
            await victim.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // 001 committed with its record; 002 was inside its transaction: neither its row nor its record exist.
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM ledger"));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM gantry_migrations WHERE subsystem = 'slow'"));
        Assert.False(await gantry.TableExistsAsync("slow_done"));
        var list = await gantry.RunAsync("migrations", "list");
        Assert.Equal(5, list.ExitCode);
        Assert.Contains("slow: 002_slow, 003_after", list.Stdout);

        // The lock died with the process: the rerun does not wait for it.
        var rerun = await gantry.RunAsync("migrations", "up", "--lock-timeout", "5");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.DoesNotContain("001_fast", rerun.Stdout);
        Assert.Contains("slow migrated up to: 002_slow (executed)", rerun.Stdout);
        Assert.Contains("slow migrated up to: 003_after (executed)", rerun.Stdout);
        Assert.Equal(3, await gantry.CountAsync("SELECT count(*) FROM ledger"));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM ledger WHERE migration = '002'"));
        Assert.True(await gantry.TableExistsAsync("slow_done"));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Finish_says_it_resumes_only_after_an_interrupted_run(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        gantry.UseRelease(Releases.SlowFinish(delayMilliseconds: 3_000));
        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());

        // The Up step that 'up' journalled is no sign of an interruption.
        var finish = await gantry.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Contains("tally migrated up to: 001_tally (executed)", finish.Stdout);
        Assert.DoesNotContain("resuming", finish.Stdout);
        Assert.DoesNotContain("interrupted", finish.Stdout);

        await gantry.ExecuteAsync("DROP TABLE tally");
        await gantry.ExecuteAsync("DELETE FROM gantry_migrations WHERE subsystem = 'tally'");
        await gantry.ExecuteAsync("DELETE FROM gantry_migration_steps WHERE subsystem = 'tally'");
        await gantry.ExecuteAsync("DELETE FROM gantry_backfill_checkpoints WHERE subsystem = 'tally'");
        Assert.Equal(0, (await gantry.RunAsync("migrations", "up")).ExitCode);
        await using (var victim = gantry.Start("migrations", "finish"))
        {
            // Killed inside the third step, once the first two have committed.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (await gantry.CountAsync("SELECT count(*) FROM gantry_migration_steps WHERE subsystem = 'tally' AND phase = 'finish' AND state = 'completed'") < 2)
            {
                Assert.False(victim.HasExited, $"finish exited before the kill:\n{victim.Stdout}\n{victim.Stderr}");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "finish completed no step within 60 s");
                await Task.Delay(20);
            }
            victim.KillHard();
            await victim.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM tally WHERE id = 3"));

        var resumed = await gantry.RunAsync("migrations", "finish", "--lock-timeout", "5");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("tally/001_tally: resuming at finish step 3 (earlier steps completed in an interrupted run)", resumed.Stdout);
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM tally WHERE id = 1"));
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM tally WHERE id = 3"));
    }
}
