using Gantry.Migrations;

namespace Gantry.Cli;

/// <summary>The migration engine's reports on the console: progress on stdout, detail with --v, problems as errors.</summary>
internal sealed class ConsoleMigrationReporter(Output output, ProgressStyle progressStyle = ProgressStyle.Auto) : IMigrationReporter
{
    private readonly BackfillProgressPrinter _backfills = new(output, progressStyle);

    public void Progress(string message) => output.Line(message);

    public void Problem(string message) => output.Error(message);

    public void Detail(string message) => output.Verbose(message);

    public void StepFinished(string migration, MigrationStepRun step, TimeSpan took, int attempts) =>
        output.Verbose($"{migration} {Phase(step)} step {step.Index + 1} took {took.TotalMilliseconds:F0} ms ({attempts} attempt{(attempts == 1 ? "" : "s")})");

    public void StepBlocked(string migration, MigrationStepRun step, StepBlockage blockage) =>
        output.Line($"{migration}: {Phase(step)} step {step.Index + 1} ({step.Describe()}) could not get its {blockage.Lock} lock within {blockage.LockTimeout.TotalMilliseconds:F0} ms; "
            + $"blocked by {blockage.Blockers}; retry {blockage.Attempt} in {blockage.RetryIn.TotalSeconds:F1}s");

    public void Backfill(BackfillProgress progress) => _backfills.Print(progress);

    private static string Phase(MigrationStepRun step) => step.Phase.ToString().ToLowerInvariant();
}
