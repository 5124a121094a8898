using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// Raw SQL written for each database. The engine cannot see inside it, so it must say what lock it
/// takes on which table and why it is raw; without those the lint refuses it in an Up step.
/// An empty statement for a database means "nothing to do there".
/// </summary>
public sealed class SqlOperation(
    string postgres,
    string sqlite,
    LockLevel? declaredLock = null,
    string? reason = null,
    string? table = null,
    SqlOperation? undo = null,
    bool rewrites = false,
    bool scans = false) : MigrationOperation
{
    public override string Describe() => reason is { Length: > 0 } ? $"sql: {reason}" : "sql";

    public override IReadOnlyList<string> Statements(DatabaseKind kind)
    {
        var sql = kind == DatabaseKind.Postgres ? postgres : sqlite;
        return sql.Length == 0 ? [] : [sql];
    }

    public override OperationTraits Traits(DatabaseKind kind) =>
        new(declaredLock ?? LockLevel.AccessExclusive, table, rewrites, scans);

    public override IReadOnlyList<MigrationOperation>? Undo => undo is null ? null : [undo];

    public override string? ExpandViolation(ExpandLintContext earlier) =>
        declaredLock is null || string.IsNullOrWhiteSpace(reason)
            ? "raw SQL must declare the lock level it takes and the reason it is raw"
            : null;
}
