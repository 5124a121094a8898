using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>Creates a table that does not exist yet: invisible to the previous release, so safe to expand.</summary>
public sealed class CreateTableOperation(TableDefinition table) : MigrationOperation
{
    public TableDefinition Table { get; } = table;

    public override string Describe() => $"create table {Table.Name}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => [Table.Render(kind)];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.None, null);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropTableOperation(Table.Name)];

    public override void Contribute(ExpandLintContext context) => context.CreatedTables.Add(Table.Name);

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.TableExistsAsync(Table.Name, cancellationToken) ? CatalogFinding.Applied : CatalogFinding.Absent;
}

/// <summary>Drops a table and its data: contract only.</summary>
public sealed class DropTableOperation(string table) : MigrationOperation
{
    public string Table { get; } = table;

    public override string Describe() => $"drop table {Table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [kind == DatabaseKind.Postgres ? $"DROP TABLE IF EXISTS {Sql.Quote(Table)} CASCADE" : $"DROP TABLE IF EXISTS {Sql.Quote(Table)}"];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, Table);

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        earlier.CreatedTables.Contains(Table) ? null : "dropping a table the previous release uses breaks it; drop it in Finish";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.TableExistsAsync(Table, cancellationToken) ? CatalogFinding.Absent : CatalogFinding.Applied;
}

/// <summary>Renames a table: the previous release would look for the old name.</summary>
public sealed class RenameTableOperation(string table, string newName) : MigrationOperation
{
    public override string Describe() => $"rename table {table} to {newName}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => [$"ALTER TABLE {Sql.Quote(table)} RENAME TO {Sql.Quote(newName)}"];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table);

    public override IReadOnlyList<MigrationOperation> Undo => [new RenameTableOperation(newName, table)];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        "renaming a table breaks the previous release, which still uses the old name; create the new table, keep both in step, and drop the old one in Finish";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.TableExistsAsync(newName, cancellationToken) ? CatalogFinding.Applied : CatalogFinding.Absent;
}
