using Gantry.Migrations;

namespace Gantry.Plugins;

/// <summary>What every credential table has, written once for the plugins' migrations.</summary>
public static class CredentialTables
{
    /// <summary>A credential's table: id, created_at and the consumer, whose deletion takes the credential with it.</summary>
    public static TableDefinition CredentialTable(string name) =>
        new TableDefinition(name)
            .PrimaryKey("id")
            .Column("created_at", ColumnType.BigInt, notNull: true)
            .ForeignKey("consumer_id", "consumers", OnDelete.Cascade);

    /// <summary>The index that lists a consumer's credentials (the nested endpoints, the cascade).</summary>
    public static CreateIndexOperation ConsumerIndex(string table) => new(table, $"{table}_consumer_id_idx", "consumer_id");
}
