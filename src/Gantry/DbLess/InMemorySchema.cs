using Gantry.Cli;
using Gantry.Migrations;
using Gantry.Store;

namespace Gantry.DbLess;

/// <summary>Creates the tables of every subsystem in a database in memory, as 'migrations bootstrap' does on a file.</summary>
internal static class InMemorySchema
{
    public static async Task BootstrapAsync(SqliteDatabase database, IReadOnlyList<Subsystem> subsystems, CancellationToken cancellationToken)
    {
        var silent = new Output(TextWriter.Null, TextWriter.Null, Verbosity.Quiet);
        var runner = new MigrationRunner(database, subsystems, silent,
            new MigrationOptions(TimeSpan.Zero, false, $"gantry node without a database (pid {Environment.ProcessId})"));
        await runner.BootstrapAsync(cancellationToken);
    }
}
