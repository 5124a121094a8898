using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;

namespace Gantry.Clustering.Registry;

/// <summary>
/// The table of the data planes a control plane has heard from (Kong's <c>clustering_data_planes</c>),
/// shared by every control plane node of the database, so that each one lists every data plane whichever
/// node it is connected to. A new table, which the previous release never reads: up only, nothing to finish.
/// Times are Unix seconds of the database's clock, since the control plane nodes' clocks need not agree.
/// </summary>
public static class Core003ClusteringDataPlanes
{
    public const string Table = "clustering_data_planes";

    public static Migration Migration { get; } = new("003_clustering_data_planes", new MigrationStep(
        new CreateTableOperation(new TableDefinition(Table)
            // The data plane's node id: the same node reconnecting updates its row instead of adding one.
            .PrimaryKey("id")
            .Column("hostname", Text, notNull: true)
            .Column("ip", Text, notNull: true)
            .Column("version", Text, notNull: true)
            .Column("sync_status", Text, notNull: true, defaultValue: "unknown")
            .Column("config_hash", Text, notNull: true)
            .Column("last_seen", BigInt, notNull: true)
            .Column("labels", Json)
            .Column("cert_details", Json)
            .Column("updated_at", BigInt, notNull: true))));
}
