using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// Adds a column. Nullable, or with a constant default, it takes a brief ACCESS EXCLUSIVE lock and no
/// rewrite (PostgreSQL 11 and later keep the default in the catalog); a volatile default rewrites the table.
/// </summary>
public sealed class AddColumnOperation(string table, ColumnDefinition column) : MigrationOperation
{
    public string Table { get; } = table;

    public ColumnDefinition Column { get; } = column;

    private bool VolatileDefault => Column.Default is SqlDefault { Volatile: true };

    public override string Describe() => $"add column {Column.Name} to {Table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"ALTER TABLE {Sql.Quote(Table)} ADD COLUMN {TableDefinition.RenderColumn(Column, kind)}"];

    public override OperationTraits Traits(DatabaseKind kind) =>
        new(LockLevel.AccessExclusive, Table, Rewrites: kind == DatabaseKind.Postgres && VolatileDefault);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropColumnOperation(Table, Column.Name)];

    public override string? ExpandViolation(ExpandLintContext earlier)
    {
        if (earlier.CreatedTables.Contains(Table))
            return null;
        if (VolatileDefault)
            return "a volatile default makes PostgreSQL rewrite the whole table under an ACCESS EXCLUSIVE lock; add the column nullable, then backfill in batches";
        if (Column.NotNull && Column.Default is null)
            return "a NOT NULL column without a default fails on existing rows and on the previous release's inserts; add it nullable (or with a default)";
        return null;
    }

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.ColumnExistsAsync(Table, Column.Name, cancellationToken) ? CatalogFinding.Applied : CatalogFinding.Absent;
}

/// <summary>Drops a column and its data: contract only.</summary>
public sealed class DropColumnOperation(string table, string column) : MigrationOperation
{
    public override string Describe() => $"drop column {column} from {table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => [$"ALTER TABLE {Sql.Quote(table)} DROP COLUMN {Sql.Quote(column)}"];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table);

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        earlier.CreatedTables.Contains(table) ? null : "dropping a column breaks the previous release, which still reads it; drop it in Finish";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.ColumnExistsAsync(table, column, cancellationToken) ? CatalogFinding.Absent : CatalogFinding.Applied;
}

/// <summary>Renames a column: the previous release would look for the old name.</summary>
public sealed class RenameColumnOperation(string table, string column, string newName) : MigrationOperation
{
    public override string Describe() => $"rename column {column} of {table} to {newName}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"ALTER TABLE {Sql.Quote(table)} RENAME COLUMN {Sql.Quote(column)} TO {Sql.Quote(newName)}"];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table);

    public override IReadOnlyList<MigrationOperation> Undo => [new RenameColumnOperation(table, newName, column)];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        "renaming a column breaks the previous release; add the new column, keep both in step, and drop the old one in Finish";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.ColumnExistsAsync(table, newName, cancellationToken) ? CatalogFinding.Applied : CatalogFinding.Absent;
}

/// <summary>Changes a column's type: PostgreSQL rewrites the table and its indexes under ACCESS EXCLUSIVE.</summary>
public sealed class AlterColumnTypeOperation(string table, string column, ColumnType type) : MigrationOperation
{
    public override string Describe() => $"change the type of {table}.{column} to {type}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? [$"ALTER TABLE {Sql.Quote(table)} ALTER COLUMN {Sql.Quote(column)} TYPE {Sql.TypeName(type, kind)}"]
        // SQLite columns are dynamically typed: the declared type is advice, so there is nothing to change.
        : [];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table, Rewrites: kind == DatabaseKind.Postgres);

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        "changing a column's type rewrites the table under ACCESS EXCLUSIVE and can break the previous release; add a new column, backfill it in batches, and switch in Finish";
}

/// <summary>
/// SET NOT NULL. On its own PostgreSQL scans the whole table under ACCESS EXCLUSIVE; after a validated
/// CHECK (column IS NOT NULL) it skips the scan, which is the safe route: add the check NOT VALID,
/// validate it (no write lock), then set NOT NULL.
/// </summary>
public sealed class SetNotNullOperation(string table, string column) : MigrationOperation
{
    public override string Describe() => $"set {table}.{column} NOT NULL";

    // SQLite cannot change a column's nullability without rebuilding the table; the DAOs enforce it there.
    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? [$"ALTER TABLE {Sql.Quote(table)} ALTER COLUMN {Sql.Quote(column)} SET NOT NULL"]
        : [];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table, Scans: kind == DatabaseKind.Postgres);

    public override IReadOnlyList<MigrationOperation> Undo => [new SqlOperation(
        $"ALTER TABLE {Sql.Quote(table)} ALTER COLUMN {Sql.Quote(column)} DROP NOT NULL", "", LockLevel.AccessExclusive,
        "undo of SET NOT NULL", table)];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        earlier.CreatedTables.Contains(table) || earlier.ValidatedNotNullChecks.Contains((table, column))
            ? null
            : "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE; first add CHECK (column IS NOT NULL) NOT VALID and validate it";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        catalog.Kind == DatabaseKind.Sqlite ? CatalogFinding.Unknown
        : await catalog.ColumnIsNotNullAsync(table, column, cancellationToken) ? CatalogFinding.Applied : CatalogFinding.Absent;
}
