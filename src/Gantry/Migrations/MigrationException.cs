namespace Gantry.Migrations;

/// <summary>Why the engine refused or stopped. The CLI maps each to its exit code in one place.</summary>
public enum MigrationFailure
{
    /// <summary>The database was never bootstrapped, or its bootstrap did not complete.</summary>
    NeedsBootstrap,

    /// <summary>An earlier upgrade is still between 'up' and 'finish'.</summary>
    UpgradePending,

    /// <summary>Rollback found nothing it may undo, or an operation that declares no undo.</summary>
    CannotRollBack,

    /// <summary>Another process held the migration lock for longer than the lock timeout.</summary>
    LockTimeout,

    /// <summary>A step failed, or gave up waiting for its table lock; it was rolled back.</summary>
    StepFailed,

    /// <summary>A newer release contracted the database (or wrote a floor this release cannot read).</summary>
    Fenced,
}

/// <summary>
/// A refusal or failure of the migration engine. The message says what happened, what was left
/// unchanged, and what to do next.
/// </summary>
public sealed class MigrationException(MigrationFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public MigrationFailure Failure { get; } = failure;
}
