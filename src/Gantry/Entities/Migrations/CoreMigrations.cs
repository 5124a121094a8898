using Gantry.Clustering.Registry;
using Gantry.Migrations;

namespace Gantry.Entities.Migrations;

/// <summary>The core subsystem: the entities every node needs, in execution order.</summary>
public static class CoreMigrations
{
    public static Subsystem Subsystem { get; } = new("core", isPlugin: false, [Core000Base.Migration, Core001CompositeUniques.Migration, Core002ConsumerUsernameLower.Migration,
        Core003ClusteringDataPlanes.Migration, Core004RoutesExpression.Migration]);
}
