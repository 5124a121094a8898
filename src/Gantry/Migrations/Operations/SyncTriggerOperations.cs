using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>
/// Keeps a new column in step with the columns it is derived from, for every row the previous release
/// inserts or updates during the expand phase. It is installed before the backfill, so that the backfill
/// only has to cover the rows that existed when it started. On PostgreSQL a BEFORE INSERT OR UPDATE OF
/// the sources trigger sets the column on the row being written; SQLite has no BEFORE triggers that can
/// change NEW, so AFTER INSERT and AFTER UPDATE OF the sources triggers update the row just written.
/// The expression reads the written row as NEW (NEW.name).
/// </summary>
/// <param name="name">The trigger's name (PostgreSQL also names its function after it; SQLite suffixes _insert and _update).</param>
/// <param name="key">SQLite: the column that finds the written row again; the rowid when null.</param>
public sealed class SyncTriggerOperation(string name, string table, string column, IReadOnlyList<string> sources, DialectSql expression,
    string? key = null) : MigrationOperation
{
    public string Name { get; } = name;

    public string Table { get; } = table;

    public string Column { get; } = column;

    public override string Describe() => $"sync trigger {Name} on {Table}: {Column} = {expression.Postgres} on insert or update of {string.Join(", ", sources)}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind)
    {
        var watched = string.Join(", ", sources.Select(Sql.Quote));
        if (kind == DatabaseKind.Postgres)
        {
            return
            [
                $"""
                CREATE OR REPLACE FUNCTION {Sql.Quote(FunctionName(Name))}() RETURNS trigger LANGUAGE plpgsql AS $gantry$
                BEGIN
                  NEW.{Sql.Quote(Column)} := {expression.Postgres};
                  RETURN NEW;
                END
                $gantry$
                """,
                $"CREATE TRIGGER {Sql.Quote(Name)} BEFORE INSERT OR UPDATE OF {watched} ON {Sql.Quote(Table)} FOR EACH ROW EXECUTE FUNCTION {Sql.Quote(FunctionName(Name))}()",
            ];
        }
        var row = key is null ? "rowid = NEW.rowid" : $"{Sql.Quote(key)} = NEW.{Sql.Quote(key)}";
        var update = $"UPDATE {Sql.Quote(Table)} SET {Sql.Quote(Column)} = {expression.Sqlite} WHERE {row};";
        return
        [
            $"CREATE TRIGGER {Sql.Quote(Name + "_insert")} AFTER INSERT ON {Sql.Quote(Table)} FOR EACH ROW BEGIN {update} END",
            // The trigger's own UPDATE writes only the target column, so it does not fire this trigger again.
            $"CREATE TRIGGER {Sql.Quote(Name + "_update")} AFTER UPDATE OF {watched} ON {Sql.Quote(Table)} FOR EACH ROW BEGIN {update} END",
        ];
    }

    // CREATE TRIGGER takes SHARE ROW EXCLUSIVE: it blocks writes to the table, briefly (no scan), so it
    // runs under the step's lock timeout and retry like any other DDL.
    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.ShareRowExclusive, Table);

    public override IReadOnlyList<MigrationOperation> Undo => [new DropSyncTriggerOperation(Name, Table)];

    internal static string FunctionName(string trigger) => trigger + "_fn";
}

/// <summary>
/// Drops a sync trigger (and its function): the undo of <see cref="SyncTriggerOperation"/>, and the first
/// operation of the Finish step that drops the columns the trigger reads.
/// </summary>
public sealed class DropSyncTriggerOperation(string name, string table) : MigrationOperation
{
    public override string Describe() => $"drop sync trigger {name} on {table}";

    public override IReadOnlyList<string> Statements(DatabaseKind kind) => kind == DatabaseKind.Postgres
        ?
        [
            $"DROP TRIGGER IF EXISTS {Sql.Quote(name)} ON {Sql.Quote(table)}",
            $"DROP FUNCTION IF EXISTS {Sql.Quote(SyncTriggerOperation.FunctionName(name))}()",
        ]
        : [$"DROP TRIGGER IF EXISTS {Sql.Quote(name + "_insert")}", $"DROP TRIGGER IF EXISTS {Sql.Quote(name + "_update")}"];

    // DROP TRIGGER takes ACCESS EXCLUSIVE on the table, briefly.
    public override OperationTraits Traits(DatabaseKind kind) => new(LockLevel.AccessExclusive, table);
}
