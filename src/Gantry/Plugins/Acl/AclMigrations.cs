using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.Acl;

/// <summary>The acl subsystem: the acls table, one row per (consumer, group).</summary>
public static class AclMigrations
{
    private static readonly Migration Base = new("000_base_acl", new MigrationStep(
        new CreateTableOperation(CredentialTable("acls")
            .Column("group", Text)
            .Column("tags", TextArray)
            .Unique("consumer_id", "group")),
        ConsumerIndex("acls"),
        new CreateIndexOperation("acls", "acls_group_idx", "group")));

    public static Subsystem Subsystem { get; } = new("acl", isPlugin: true, [Base]);
}
