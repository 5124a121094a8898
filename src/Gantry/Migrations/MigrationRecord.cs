namespace Gantry.Migrations;

public enum MigrationRecordState
{
    /// <summary>Up ran; Finish has not.</summary>
    Pending,
    /// <summary>Every step ran.</summary>
    Executed,
}

/// <summary>What the database says about one migration.</summary>
public sealed record MigrationRecord(
    string Subsystem,
    string Name,
    MigrationRecordState State,
    string? Checksum,
    string? GantryVersion,
    DateTimeOffset? UpAt,
    DateTimeOffset? FinishedAt,
    string? UpgradeId = null);
