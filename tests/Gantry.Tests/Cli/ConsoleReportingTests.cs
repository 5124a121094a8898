using System.Text.Json;
using Gantry.Cli;
using Gantry.Migrations;

namespace Gantry.Tests.Cli;

/// <summary>How the CLI shows what the migration engine reports, and which exit code each engine failure gets.</summary>
public sealed class ConsoleReportingTests
{
    private readonly StringWriter _stdout = new();
    private readonly StringWriter _stderr = new();

    private static BackfillProgress At(double seconds, long done, bool finished = false, string table = "items") =>
        new("core", "010_x", table, done, 1000, done, done / Math.Max(seconds, 0.001), seconds > 0 ? (1000 - done) / (done / seconds) : null,
            TimeSpan.FromSeconds(seconds), finished);

    [Fact]
    public void Plain_progress_shows_the_first_report_then_one_every_two_seconds_and_the_last()
    {
        var printer = new BackfillProgressPrinter(new Output(_stdout, _stderr, Verbosity.Normal), ProgressStyle.Plain);
        printer.Print(At(0, 0));
        printer.Print(At(0.5, 100));
        printer.Print(At(1.9, 300));
        printer.Print(At(2.1, 400));
        printer.Print(At(2.2, 1000, finished: true));
        // Another backfill starts its own clock: its first report is shown at once.
        printer.Print(At(0.1, 10, table: "other"));

        var lines = _stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("core/010_x: backfill items: 0/1000 rows (0.0%), 0 rows/s, --:--:-- left", lines[0]);
        Assert.StartsWith("core/010_x: backfill items: 400/1000 rows (40.0%), 190 rows/s", lines[1]);
        Assert.StartsWith("core/010_x: backfill items: 1000/1000 rows (100.0%)", lines[2]);
        Assert.StartsWith("core/010_x: backfill other: 10/1000 rows", lines[3]);
        Assert.Empty(_stderr.ToString());
    }

    [Fact]
    public void Json_progress_is_one_object_per_line_at_most_once_a_second()
    {
        var printer = new BackfillProgressPrinter(new Output(_stdout, _stderr, Verbosity.Quiet), ProgressStyle.Json);
        printer.Print(At(0, 0));
        printer.Print(At(0.4, 100));
        printer.Print(At(1.25, 600, finished: true));

        var lines = _stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(JsonValueKind.Null, first.RootElement.GetProperty("eta_seconds").ValueKind);
        using var last = JsonDocument.Parse(lines[1]);
        var root = last.RootElement;
        Assert.Equal("backfill_progress", root.GetProperty("event").GetString());
        Assert.Equal("core", root.GetProperty("subsystem").GetString());
        Assert.Equal("010_x", root.GetProperty("migration").GetString());
        Assert.Equal("items", root.GetProperty("table").GetString());
        Assert.Equal(600, root.GetProperty("done").GetInt64());
        Assert.Equal(1000, root.GetProperty("total").GetInt64());
        Assert.Equal(480.0, root.GetProperty("rate").GetDouble());
        Assert.Equal(0.8, root.GetProperty("eta_seconds").GetDouble());
        Assert.Equal(1.25, root.GetProperty("elapsed_seconds").GetDouble());
        Assert.True(root.GetProperty("finished").GetBoolean());
    }

    [Fact]
    public void A_rewriting_line_is_ended_before_anything_else_is_printed()
    {
        var output = new Output(_stdout, _stderr, Verbosity.Normal);
        output.Partial("\rbackfill: 10%");
        output.Error("step failed");
        output.Line("next");
        output.EndPartial();

        // Not ReplaceLineEndings: it would take the carriage return for a line end.
        Assert.Equal($"\rbackfill: 10%{Environment.NewLine}next{Environment.NewLine}", _stdout.ToString());
        Assert.Equal("Error: step failed\n", _stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Step_reports_keep_their_wording()
    {
        var reporter = new ConsoleMigrationReporter(new Output(_stdout, _stderr, Verbosity.Verbose));
        var step = new MigrationStepRun(MigrationPhase.Finish, 1, [new DropColumnOperation("items", "name")], Transactional: true);
        reporter.StepBlocked("blue/003_label", step, new StepBlockage("ACCESS EXCLUSIVE on items", TimeSpan.FromSeconds(1), "pid 42", 2, TimeSpan.FromSeconds(0.5)));
        reporter.StepFinished("blue/003_label", step, TimeSpan.FromMilliseconds(12), 3);

        Assert.Equal("blue/003_label: finish step 2 (drop column name from items) could not get its ACCESS EXCLUSIVE on items lock within 1000 ms; "
            + "blocked by pid 42; retry 2 in 0.5s\n", _stdout.ToString().ReplaceLineEndings("\n"));
        Assert.Equal("[verbose] blue/003_label finish step 2 took 12 ms (3 attempts)\n", _stderr.ToString().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(MigrationFailure.LockTimeout, ExitCodes.LockTimeout)]
    [InlineData(MigrationFailure.NeedsBootstrap, ExitCodes.Error)]
    [InlineData(MigrationFailure.UpgradePending, ExitCodes.Error)]
    [InlineData(MigrationFailure.CannotRollBack, ExitCodes.Error)]
    [InlineData(MigrationFailure.StepFailed, ExitCodes.Error)]
    [InlineData(MigrationFailure.Fenced, ExitCodes.Error)]
    public void Each_engine_failure_has_its_documented_exit_code(MigrationFailure failure, int exitCode) =>
        Assert.Equal(exitCode, ExitCodes.Of(failure));
}
