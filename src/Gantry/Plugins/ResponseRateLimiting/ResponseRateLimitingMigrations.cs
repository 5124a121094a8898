using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;

namespace Gantry.Plugins.ResponseRateLimiting;

/// <summary>
/// The response-ratelimiting subsystem: the counters of its cluster policy (Kong's
/// <c>response_ratelimiting_metrics</c>), shaped as rate-limiting's so that one store serves both; the
/// period column holds <c>&lt;limit&gt;_&lt;period&gt;</c>.
/// </summary>
public static class ResponseRateLimitingMigrations
{
    public const string Table = "response_ratelimiting_metrics";

    private static readonly Migration Base = new("000_base_response_rate_limiting", new MigrationStep(
        new CreateTableOperation(new TableDefinition(Table)
            .PrimaryKey("identifier", Text)
            .PrimaryKey("period", Text)
            .PrimaryKey("period_date", BigInt)
            .PrimaryKey("service_id")
            .PrimaryKey("route_id")
            .Column("value", BigInt)
            .Column("ttl", BigInt)),
        new CreateIndexOperation(Table, "response_ratelimiting_metrics_ttl_idx", "ttl")));

    public static Subsystem Subsystem { get; } = new("response-ratelimiting", isPlugin: true, [Base]);
}
