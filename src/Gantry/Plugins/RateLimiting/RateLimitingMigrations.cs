using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The rate-limiting subsystem: the counters of the cluster policy, one row per (identifier, window,
/// window start, service, route). A plugin without a service or route counts under the zero UUID, so the
/// primary key never holds a NULL.
/// </summary>
public static class RateLimitingMigrations
{
    private static readonly Migration Base = new("000_base_rate_limiting", new MigrationStep(
        new CreateTableOperation(new TableDefinition("ratelimiting_metrics")
            .PrimaryKey("identifier", Text)
            .PrimaryKey("period", Text)
            .PrimaryKey("period_date", BigInt)
            .PrimaryKey("service_id")
            .PrimaryKey("route_id")
            .Column("value", BigInt)
            .Column("ttl", BigInt)),
        new CreateIndexOperation("ratelimiting_metrics", "ratelimiting_metrics_ttl_idx", "ttl")));

    public static Subsystem Subsystem { get; } = new("rate-limiting", isPlugin: true, [Base]);
}
