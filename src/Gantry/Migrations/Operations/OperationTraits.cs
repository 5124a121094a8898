namespace Gantry.Migrations;

/// <summary>PostgreSQL's table lock levels, weakest first (SQLite takes one database-wide write lock).</summary>
public enum LockLevel
{
    None,
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

/// <summary>What an operation costs other sessions: the lock it takes, on what, and for how long.</summary>
/// <param name="Lock">The table lock level on PostgreSQL.</param>
/// <param name="Table">The table it locks (null for none), for row estimates and blocker reports.</param>
/// <param name="Rewrites">It rewrites every row of the table while holding the lock.</param>
/// <param name="Scans">It reads every row of the table while holding the lock.</param>
/// <param name="Transactional">False when it must run outside a transaction block (the CONCURRENTLY forms).</param>
/// <param name="Retryable">Running it again after a timeout or a crash is harmless.</param>
public sealed record OperationTraits(
    LockLevel Lock,
    string? Table,
    bool Rewrites = false,
    bool Scans = false,
    bool Transactional = true,
    bool Retryable = true)
{
    public static OperationTraits NoLock { get; } = new(LockLevel.None, null);

    /// <summary>The lock as PostgreSQL's documentation spells it: "ACCESS EXCLUSIVE".</summary>
    public string LockName => Lock switch
    {
        LockLevel.None => "none",
        LockLevel.AccessShare => "ACCESS SHARE",
        LockLevel.RowShare => "ROW SHARE",
        LockLevel.RowExclusive => "ROW EXCLUSIVE",
        LockLevel.ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
        LockLevel.Share => "SHARE",
        LockLevel.ShareRowExclusive => "SHARE ROW EXCLUSIVE",
        LockLevel.Exclusive => "EXCLUSIVE",
        LockLevel.AccessExclusive => "ACCESS EXCLUSIVE",
        _ => Lock.ToString(),
    };

    /// <summary>True when the lock stops ordinary writes (Share and stronger) for as long as it is held.</summary>
    public bool BlocksWrites => Lock >= LockLevel.Share;
}
