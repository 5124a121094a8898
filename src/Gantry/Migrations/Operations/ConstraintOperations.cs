using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// Adds a CHECK constraint. NOT VALID takes ACCESS EXCLUSIVE only briefly and checks new writes only;
/// without it, PostgreSQL scans every row under that lock. SQLite cannot add constraints to an existing
/// table, so there it does nothing and the DAOs enforce the rule.
/// </summary>
public sealed class AddCheckConstraintOperation(string table, string name, string expression, bool notValid, string? notNullColumn = null)
    : MigrationOperation
{
    /// <summary>CHECK (column IS NOT NULL), the first step of the safe route to SET NOT NULL.</summary>
    public static AddCheckConstraintOperation NotNull(string table, string column, bool notValid = true) =>
        new(table, $"{table}_{column}_not_null", $"{Sql.Quote(column)} IS NOT NULL", notValid, column);

    public override string Describe() => $"add check {name} on {table}{(notValid ? " (not valid)" : "")}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? [$"ALTER TABLE {Sql.Quote(table)} ADD CONSTRAINT {Sql.Quote(name)} CHECK ({expression}){(notValid ? " NOT VALID" : "")}"]
        : [];

    public override OperationTraits Traits(DatabaseKind kind) =>
        new(LockLevel.AccessExclusive, table, Scans: kind == DatabaseKind.Postgres && !notValid);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropConstraintOperation(table, name)];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        notValid || earlier.CreatedTables.Contains(table)
            ? null
            : "adding a CHECK constraint scans the whole table under ACCESS EXCLUSIVE; add it NOT VALID, then validate it";

    public override void Contribute(ExpandLintContext context)
    {
        if (notValid)
            context.UnvalidatedChecks[name] = (table, notNullColumn);
        else if (notNullColumn is not null)
            context.ValidatedNotNullChecks.Add((table, notNullColumn));
    }

    public override Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        catalog.ConstraintAsync(table, name, cancellationToken).ContinueWith(
            t => t.Result == CatalogFinding.Invalid && notValid ? CatalogFinding.Applied : t.Result, cancellationToken,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}

/// <summary>Validates a NOT VALID constraint: a full scan, but under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.</summary>
public sealed class ValidateConstraintOperation(string table, string name) : MigrationOperation
{
    public override string Describe() => $"validate constraint {name} on {table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? [$"ALTER TABLE {Sql.Quote(table)} VALIDATE CONSTRAINT {Sql.Quote(name)}"]
        : [];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.ShareUpdateExclusive, table, Scans: kind == DatabaseKind.Postgres);

    // Validation changes nothing that the previous release could see: undoing the constraint's addition is enough.
    public override IReadOnlyList<MigrationOperation> Undo => [];

    public override void Contribute(ExpandLintContext context)
    {
        if (context.UnvalidatedChecks.Remove(name, out var check) && check.NotNullColumn is { } column)
            context.ValidatedNotNullChecks.Add((check.Table, column));
    }

    public override Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        catalog.Kind == DatabaseKind.Sqlite ? Task.FromResult(CatalogFinding.Unknown) : catalog.ConstraintAsync(table, name, cancellationToken);
}

/// <summary>Drops a constraint.</summary>
public sealed class DropConstraintOperation(string table, string name) : MigrationOperation
{
    public override string Describe() => $"drop constraint {name} from {table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? [$"ALTER TABLE {Sql.Quote(table)} DROP CONSTRAINT IF EXISTS {Sql.Quote(name)}"]
        : [];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table);

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        catalog.Kind == DatabaseKind.Sqlite ? CatalogFinding.Unknown
        : await catalog.ConstraintAsync(table, name, cancellationToken) == CatalogFinding.Absent ? CatalogFinding.Applied : CatalogFinding.Absent;
}
