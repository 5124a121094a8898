using Gantry.Migrations;

namespace Gantry.Entities.Migrations;

/// <summary>
/// Consumer usernames ignore case, as Kong's do: a consumer is found by any casing of its username, and
/// two usernames that differ only in case cannot both exist. The lowered username lives in its own
/// column so that both the lookup and the uniqueness use an index.
/// Up (0.1.0 nodes keep serving): the nullable column, a trigger that fills it on every insert or update
/// of a username (0.1.0 nodes never write it), and a batched, resumable backfill of the existing rows.
/// Finish (no 0.1.0 node left): a check that names any usernames the previous release let differ only in
/// case, the unique index, built concurrently, then the trigger goes, since every remaining writer (0.2.0
/// and later) writes the column itself.
/// Lowering is ASCII only on every side (PostgreSQL's lower() under the "C" collation, SQLite's lower(),
/// <see cref="Schema.AsciiCase.Lower"/> in the entity writer), so that all three always agree whatever
/// the database's locale.
/// </summary>
public static class Core002ConsumerUsernameLower
{
    public const string Column = "username_lower";

    public const string Trigger = "consumers_username_lower_sync";

    public const string Index = "consumers_username_lower_key";

    public static Migration Migration { get; } = new("002_consumer_username_lower",
        new MigrationStep(
            new AddColumnOperation("consumers", new ColumnDefinition(Column, ColumnType.Text)),
            new SyncTriggerOperation(Trigger, "consumers", Column, ["username"],
                new DialectSql("lower(NEW.\"username\" COLLATE \"C\")", "lower(NEW.\"username\")"), key: "id"),
            new BackfillOperation(new BackfillDefinition("consumers", "id",
                new DialectSql("\"username_lower\" = lower(\"username\" COLLATE \"C\")", "\"username_lower\" = lower(\"username\")"),
                DialectSql.Both("\"username\" IS NOT NULL AND \"username_lower\" IS NULL")))),
        new MigrationStep(
            new RequireDistinctOperation("consumers", Column, "username",
                "rename all but one consumer of each casing (PATCH /consumers/{id} through a node of the previous release, or of this one with "
                + "admin_writes_during_upgrade = on), then run 'gantry migrations finish' again"),
            new CreateIndexConcurrentlyOperation("consumers", Index, unique: true, Column),
            new DropSyncTriggerOperation(Trigger, "consumers")));
}
