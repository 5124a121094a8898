namespace Gantry.Migrations;

/// <summary>
/// What the migration engine tells whoever runs it, as it happens. The engine decides what to say; the
/// reporter decides where and how it shows (the CLI prints it on the console, by verbosity).
/// </summary>
public interface IMigrationReporter
{
    /// <summary>What the command did or is doing, one line for the operator ("core migrated up to: 001_x (executed)").</summary>
    void Progress(string message);

    /// <summary>A problem the command found and goes on past, such as one 'repair' cannot fix.</summary>
    void Problem(string message);

    /// <summary>Detail that only a close look needs: each statement sent, each backfill batch.</summary>
    void Detail(string message);

    /// <summary>A step committed: how long it took, in how many attempts (a lock timeout makes more).</summary>
    void StepFinished(string migration, MigrationStepRun step, TimeSpan took, int attempts);

    /// <summary>A step could not get its lock in time and was rolled back; it runs again after the blockage's delay.</summary>
    void StepBlocked(string migration, MigrationStepRun step, StepBlockage blockage);

    /// <summary>Where a backfill stands. Sent after every batch: the reporter chooses how often to show it.</summary>
    void Backfill(BackfillProgress progress);
}

/// <summary>Why a step waits: the lock it wanted, for how long it tried, who held it, and when it retries.</summary>
public sealed record StepBlockage(string Lock, TimeSpan LockTimeout, string Blockers, int Attempt, TimeSpan RetryIn);

/// <summary>One report of a running backfill. <see cref="Rate"/> counts this run only (rows per second).</summary>
public sealed record BackfillProgress(string Subsystem, string Migration, string Table, long Done, long Total, long Updated,
    double Rate, double? EtaSeconds, TimeSpan Elapsed, bool Finished);
