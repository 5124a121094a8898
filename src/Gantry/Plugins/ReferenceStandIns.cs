using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Plugins;

/// <summary>
/// Minimal consumers and routes schemas over core's existing tables, so that plugins and credentials can
/// reference them before the full entities are registered in CoreEntities.Core. They are used only while
/// Core has no schema of that name; once it has, they are inert and this file can go.
/// </summary>
internal static class ReferenceStandIns
{
    private static readonly EntitySchema Consumers = new("consumers",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        new Field("username", FieldKind.String) { Unique = true, UniqueIgnoreCase = true },
        new Field("custom_id", FieldKind.String) { Unique = true },
        Tags(),
    ])
    {
        Table = "consumers",
        EndpointKey = "username",
    };

    private static readonly EntitySchema Routes = new("routes",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        Name(),
        Foreign("service", "services"),
        Tags(),
    ])
    {
        Table = "routes",
        EndpointKey = "name",
        OnParentDelete = new Dictionary<string, ParentDelete> { ["service"] = ParentDelete.Restrict },
    };

    public static IEnumerable<EntitySchema> Missing(IEnumerable<EntitySchema> core)
    {
        var names = core.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        return new[] { Consumers, Routes }.Where(s => !names.Contains(s.Name));
    }
}
