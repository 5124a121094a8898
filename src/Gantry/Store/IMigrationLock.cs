namespace Gantry.Store;

/// <summary>
/// The mutex held while a process changes the schema. It is tied to the holder's session or process,
/// so it can never outlive a holder that dies, and it has no time-to-live that could expire under a
/// long migration.
/// </summary>
public interface IMigrationLock : IAsyncDisposable
{
    /// <summary>Tries once; true when this process now holds the lock.</summary>
    Task<bool> TryAcquireAsync(CancellationToken cancellationToken = default);

    /// <summary>Describes the current holder (process id, program, since when), or null when nobody holds it.</summary>
    Task<string?> DescribeHolderAsync(CancellationToken cancellationToken = default);

    /// <summary>Throws when the lock was lost (the session that held it died), so no step runs unprotected.</summary>
    Task EnsureHeldAsync(CancellationToken cancellationToken = default);

    Task ReleaseAsync();
}
