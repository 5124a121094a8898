using Gantry.Entities.Schema;

namespace Gantry.Declarative;

/// <summary>
/// The registry's entity types with every type after the types it references (services after
/// certificates, routes after services, plugins after routes and consumers), ties in registry order:
/// the order a configuration is written in, so that each reference finds its parent already there.
/// </summary>
public static class EntityOrder
{
    public static IReadOnlyList<EntitySchema> Of(EntityRegistry registry)
    {
        var ordered = new List<EntitySchema>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var schema in registry.All)
            Place(schema);
        return ordered;

        void Place(EntitySchema schema)
        {
            if (placed.Contains(schema.Name) || !visiting.Add(schema.Name))
                return;
            var parents = schema.ForeignFields.Select(f => f.Reference!)
                .Concat(schema.StoredFields.Where(f => f.ElementReference is not null).Select(f => f.ElementReference!));
            foreach (var parent in parents)
            {
                if (parent != schema.Name && registry.Find(parent) is { } found)
                    Place(found);
            }
            visiting.Remove(schema.Name);
            placed.Add(schema.Name);
            ordered.Add(schema);
        }
    }
}
