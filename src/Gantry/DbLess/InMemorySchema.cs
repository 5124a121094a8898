using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.DbLess;

/// <summary>Creates the tables of every subsystem in a database in memory, as 'migrations bootstrap' does on a file.</summary>
internal static class InMemorySchema
{
    public static async Task BootstrapAsync(SqliteDatabase database, IReadOnlyList<Subsystem> subsystems, CancellationToken cancellationToken)
    {
        var runner = new MigrationRunner(database, subsystems, SilentReporter.Instance,
            new MigrationOptions(TimeSpan.Zero, false, $"gantry node without a database (pid {Environment.ProcessId})"));
        await runner.BootstrapAsync(cancellationToken);
    }

    /// <summary>A bootstrap in memory at every start is routine, not news for the operator.</summary>
    private sealed class SilentReporter : IMigrationReporter
    {
        public static readonly SilentReporter Instance = new();

        public void Progress(string message) { }

        public void Problem(string message) { }

        public void Detail(string message) { }

        public void StepFinished(string migration, MigrationStepRun step, TimeSpan took, int attempts) { }

        public void StepBlocked(string migration, MigrationStepRun step, StepBlockage blockage) { }

        public void Backfill(BackfillProgress progress) { }
    }
}
