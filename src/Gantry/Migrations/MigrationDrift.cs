using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

public enum DriftKind
{
    /// <summary>The stored checksum differs from the code's: the definition changed after it ran.</summary>
    ChecksumMismatch,
    /// <summary>The code has a migration ordered before one the database ran, and the database lacks it.</summary>
    Gap,
    /// <summary>The database recorded a migration this release does not know, and no newer release recorded it.</summary>
    Removed,
    /// <summary>A migration recorded by a newer release: the expected state of the old side of a blue-green upgrade.</summary>
    FromNewerRelease,
}

/// <summary>One disagreement between the code's migrations and the database's records.</summary>
public sealed record DriftFinding(
    DriftKind Kind,
    string Subsystem,
    string Migration,
    string? ExpectedChecksum,
    string? StoredChecksum,
    string? RecordedBy)
{
    /// <summary>Every kind but <see cref="DriftKind.FromNewerRelease"/> means the database and the code disagree.</summary>
    public bool IsDrift => Kind != DriftKind.FromNewerRelease;

    public string Name => $"{Subsystem}/{Migration}";

    public string KindName => Kind switch
    {
        DriftKind.ChecksumMismatch => "checksum_mismatch",
        DriftKind.Gap => "gap",
        DriftKind.Removed => "removed",
        _ => "from_newer_release",
    };

    public string Describe()
    {
        var by = RecordedBy is null ? "an unknown release" : $"Gantry {RecordedBy}";
        return Kind switch
        {
            DriftKind.ChecksumMismatch =>
                $"{Name}: its definition changed after it ran: this release's checksum is {ExpectedChecksum}, the database stored {StoredChecksum} (recorded by {by})",
            DriftKind.Gap =>
                $"{Name}: this release orders it before migrations the database already ran, but the database never ran it (a migration inserted into released history; checksum {ExpectedChecksum})",
            DriftKind.Removed =>
                $"{Name}: recorded by {by} (checksum {StoredChecksum ?? "none"}), but this release, Gantry {GantryInfo.Version}, no longer defines it",
            _ =>
                $"{Name}: recorded by {by}, newer than this release (Gantry {GantryInfo.Version}); expected while this node is the old side of an upgrade",
        };
    }
}

/// <summary>
/// Compares the code's migrations with what the database recorded, so that a migration edited, inserted
/// or removed after release is caught before a node runs on a schema it does not describe.
/// </summary>
public static class MigrationDrift
{
    public static IReadOnlyList<DriftFinding> Analyze(IReadOnlyList<Subsystem> subsystems, StoredState stored, DatabaseKind kind, ReleaseVersion current)
    {
        var findings = new List<DriftFinding>();
        var records = stored.Records.ToLookup(r => r.Subsystem);
        foreach (var subsystem in subsystems)
        {
            var recorded = records[subsystem.Name].ToDictionary(r => r.Name, StringComparer.Ordinal);
            var lastRecorded = -1;
            for (var i = 0; i < subsystem.Migrations.Count; i++)
            {
                if (recorded.ContainsKey(subsystem.Migrations[i].Name))
                    lastRecorded = i;
            }
            for (var i = 0; i < subsystem.Migrations.Count; i++)
            {
                var migration = subsystem.Migrations[i];
                var expected = MigrationChecksum.Compute(migration, kind);
                if (!recorded.TryGetValue(migration.Name, out var record))
                {
                    if (i < lastRecorded)
                        findings.Add(new DriftFinding(DriftKind.Gap, subsystem.Name, migration.Name, expected, null, null));
                    continue;
                }
                if (Comparable(expected, record.Checksum) && !string.Equals(expected, record.Checksum, StringComparison.Ordinal))
                    findings.Add(new DriftFinding(DriftKind.ChecksumMismatch, subsystem.Name, migration.Name, expected, record.Checksum, record.GantryVersion));
            }
            var known = subsystem.Migrations.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var record in recorded.Values.Where(r => !known.Contains(r.Name)).OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                // Only a newer release can legitimately know more; a record by this release or an older one
                // (or by one that cannot be told) names a migration taken out of the code.
                var newer = ReleaseVersion.TryParse(record.GantryVersion, out var by) && by > current;
                findings.Add(new DriftFinding(newer ? DriftKind.FromNewerRelease : DriftKind.Removed, subsystem.Name, record.Name,
                    null, record.Checksum, record.GantryVersion));
            }
        }
        return findings;
    }

    /// <summary>Reads the database's records and compares them with this release's migrations.</summary>
    public static async Task<IReadOnlyList<DriftFinding>> AnalyzeAsync(IDatabase database, IReadOnlyList<Subsystem> subsystems, CancellationToken cancellationToken)
    {
        var stored = await new MigrationStateStore(database).ReadAsync(cancellationToken);
        return Analyze(subsystems, stored, database.Kind, GantryInfo.Release);
    }

    /// <summary>
    /// The refusal a node or command gives on drift, or null when there is none: each finding, then what
    /// to do about it.
    /// </summary>
    public static string? Refusal(IReadOnlyList<DriftFinding> findings)
    {
        var drift = findings.Where(f => f.IsDrift).ToList();
        if (drift.Count == 0)
            return null;
        return $"the database's migration records disagree with this release's migrations ({drift.Count} finding{(drift.Count == 1 ? "" : "s")}):\n  "
            + string.Join("\n  ", drift.Select(f => f.Describe()))
            + "\nRestore the released definition of each migration named (or run the release that recorded it), "
            + "or run 'gantry migrations validate' for details";
    }

    // A checksum is only comparable within one normalisation version ("v1:"); a record without one
    // predates checksums and cannot be checked.
    private static bool Comparable(string expected, string? stored) =>
        stored is not null && stored.IndexOf(':') is > 0 and var colon
        && expected.StartsWith(stored[..(colon + 1)], StringComparison.Ordinal);
}
