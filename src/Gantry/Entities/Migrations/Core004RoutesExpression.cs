using Gantry.Migrations;

namespace Gantry.Entities.Migrations;

/// <summary>
/// Routes' <c>expression</c> and <c>priority</c> (router_flavor = expressions), as Kong's routes table has them.
/// Two nullable columns the previous release never reads or writes: up only, nothing to finish. A node under
/// another flavor neither reads nor writes them either, so its routes are unchanged.
/// </summary>
public static class Core004RoutesExpression
{
    public static Migration Migration { get; } = new("004_routes_expression", new MigrationStep(
        new AddColumnOperation("routes", new ColumnDefinition("expression", ColumnType.Text)),
        new AddColumnOperation("routes", new ColumnDefinition("priority", ColumnType.BigInt))));
}
