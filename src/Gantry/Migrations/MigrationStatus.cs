namespace Gantry.Migrations;

/// <summary>Names of one subsystem's migrations in one state, in execution order.</summary>
public sealed record SubsystemMigrations(string Subsystem, IReadOnlyList<string> Migrations);

/// <summary>A migration the code knows, with what the database says of it.</summary>
public sealed record KnownMigration(Subsystem Subsystem, Migration Migration, MigrationRecord? Record)
{
    public bool IsNew => Record is null;

    public bool IsPending => Record?.State == MigrationRecordState.Pending;

    public bool IsExecuted => Record?.State == MigrationRecordState.Executed;
}

/// <summary>
/// The code's migrations set against the database's records. Subsystems run in the order given
/// (core first, then plugins by name); records of subsystems this node does not load are ignored,
/// and records this release does not know (from a newer release) are reported as unknown.
/// </summary>
public sealed class MigrationStatus
{
    private MigrationStatus(StoredState stored, IReadOnlyList<KnownMigration> known, IReadOnlyList<SubsystemMigrations> unknown)
    {
        HasStateTables = stored.HasStateTables;
        BootstrapComplete = stored.BootstrapComplete;
        Known = known;
        Unknown = unknown;
    }

    public static MigrationStatus Classify(IReadOnlyList<Subsystem> subsystems, StoredState stored)
    {
        var records = stored.Records.ToDictionary(r => (r.Subsystem, r.Name));
        var known = new List<KnownMigration>();
        var unknown = new List<SubsystemMigrations>();
        foreach (var subsystem in subsystems)
        {
            foreach (var migration in subsystem.Migrations)
                known.Add(new KnownMigration(subsystem, migration, records.GetValueOrDefault((subsystem.Name, migration.Name))));
            var names = subsystem.Migrations.Select(m => m.Name).ToHashSet();
            var extra = stored.Records.Where(r => r.Subsystem == subsystem.Name && !names.Contains(r.Name)).Select(r => r.Name).ToList();
            if (extra.Count > 0)
                unknown.Add(new SubsystemMigrations(subsystem.Name, extra));
        }
        return new MigrationStatus(stored, known, unknown);
    }

    public bool HasStateTables { get; }

    public bool BootstrapComplete { get; }

    /// <summary>A bootstrap started and did not complete: tables exist, the completion mark does not.</summary>
    public bool IncompleteBootstrap => HasStateTables && !BootstrapComplete;

    public bool NeedsBootstrap => !BootstrapComplete;

    public IReadOnlyList<KnownMigration> Known { get; }

    public IReadOnlyList<SubsystemMigrations> Unknown { get; }

    public IReadOnlyList<SubsystemMigrations> Executed => Group(m => m.IsExecuted);

    public IReadOnlyList<SubsystemMigrations> Pending => Group(m => m.IsPending);

    public IReadOnlyList<SubsystemMigrations> New => Group(m => m.IsNew);

    public bool HasPending => Known.Any(m => m.IsPending);

    public bool HasNew => Known.Any(m => m.IsNew);

    public bool IsUpToDate => BootstrapComplete && !HasNew;

    private List<SubsystemMigrations> Group(Func<KnownMigration, bool> predicate) =>
        Known.Where(predicate)
            .GroupBy(m => m.Subsystem.Name)
            .Select(g => new SubsystemMigrations(g.Key, g.Select(m => m.Migration.Name).ToList()))
            .ToList();
}
