using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// A plain CREATE INDEX: it takes a SHARE lock, which blocks every write to the table while the index
/// builds. Only an Up step that created the table itself may use it; otherwise use
/// <see cref="CreateIndexConcurrentlyOperation"/>.
/// </summary>
public sealed class CreateIndexOperation(string table, string name, params string[] columns) : MigrationOperation
{
    public string Table { get; } = table;

    public string Name { get; } = name;

    public IReadOnlyList<string> Columns { get; } = columns;

    public override string Describe() => $"create index {Name} on {Table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"CREATE INDEX IF NOT EXISTS {Sql.Quote(Name)} ON {Sql.Quote(Table)} ({string.Join(", ", Columns.Select(Sql.Quote))})"];

    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.Share, Table, Scans: true);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropIndexOperation(Name, concurrently: false)];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        earlier.CreatedTables.Contains(Table)
            ? null
            : "a plain CREATE INDEX on an existing table blocks its writes while the index builds; use CreateIndexConcurrentlyOperation";

    public override Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) => catalog.IndexAsync(Name, cancellationToken);
}

/// <summary>
/// CREATE INDEX CONCURRENTLY: builds without blocking writes (SHARE UPDATE EXCLUSIVE), but cannot run in
/// a transaction, so it is a step of its own, journalled around itself. A failed build leaves an INVALID
/// index behind; this operation finds it, drops it and builds again, so running it twice is harmless.
/// SQLite has no concurrent build; there it is an ordinary index build inside the step's transaction.
/// </summary>
public sealed class CreateIndexConcurrentlyOperation(string table, string name, bool unique, params string[] columns) : MigrationOperation
{
    public string Name { get; } = name;

    public override string Describe() => $"create {(unique ? "unique " : "")}index {Name} on {table} concurrently";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"CREATE {(unique ? "UNIQUE " : "")}INDEX {(kind == DatabaseKind.Postgres ? "CONCURRENTLY " : "")}IF NOT EXISTS {Sql.Quote(Name)} ON {Sql.Quote(table)} ({string.Join(", ", columns.Select(Sql.Quote))})"];

    public override OperationTraits Traits(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? new(LockLevel.ShareUpdateExclusive, table, Scans: true, Transactional: false)
        : new(LockLevel.Share, table, Scans: true);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropIndexOperation(Name, concurrently: true)];

    public override async Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        if (context.Kind == DatabaseKind.Postgres && await new Catalog(context.Connection, context.Kind).IndexAsync(Name, cancellationToken) == CatalogFinding.Invalid)
        {
            context.Trace($"index {Name} was left invalid by an earlier attempt; dropping it to build it again");
            await context.ExecuteAsync($"DROP INDEX CONCURRENTLY IF EXISTS {Sql.Quote(Name)}", cancellationToken);
        }
        await base.ExecuteAsync(context, cancellationToken);
    }

    public override Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) => catalog.IndexAsync(Name, cancellationToken);
}

/// <summary>Drops an index (concurrently on PostgreSQL when asked): the previous release may rely on it, so contract only.</summary>
public sealed class DropIndexOperation(string name, bool concurrently) : MigrationOperation
{
    public override string Describe() => $"drop index {name}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"DROP INDEX {(concurrently && kind == DatabaseKind.Postgres ? "CONCURRENTLY " : "")}IF EXISTS {Sql.Quote(name)}"];

    public override OperationTraits Traits(DatabaseKind kind) => kind == DatabaseKind.Postgres && concurrently
        ? new(LockLevel.ShareUpdateExclusive, null, Transactional: false)
        : new(LockLevel.AccessExclusive, null);

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        "dropping an index can break the previous release's uniqueness or performance; drop it in Finish";

    public override async Task<CatalogFinding> InspectAsync(Catalog catalog, CancellationToken cancellationToken) =>
        await catalog.IndexAsync(name, cancellationToken) == CatalogFinding.Absent ? CatalogFinding.Applied : CatalogFinding.Absent;
}
