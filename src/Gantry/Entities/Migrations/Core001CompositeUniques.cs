using Gantry.Migrations;

namespace Gantry.Entities.Migrations;

/// <summary>
/// Unique indexes behind the uniqueness that spans two columns: a target once per upstream, a key id
/// once per key set. The Admin API checks both before writing; the indexes stop two writers that
/// race past the check together. Built concurrently, so traffic keeps writing while they build.
/// </summary>
public static class Core001CompositeUniques
{
    public static Migration Migration { get; } = new("001_composite_uniques", new MigrationStep(
        new CreateIndexConcurrentlyOperation("targets", "targets_upstream_id_target_key", unique: true, "upstream_id", "target"),
        new CreateIndexConcurrentlyOperation("keys", "keys_kid_set_id_key", unique: true, "kid", "set_id")));
}
