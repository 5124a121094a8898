namespace Gantry.Entities.Schema;

/// <summary>Every entity schema this node serves, by name and by URL segment, with who references whom.</summary>
public sealed class EntityRegistry
{
    private readonly Dictionary<string, EntitySchema> _byName;
    private readonly Dictionary<string, EntitySchema> _bySegment;
    private readonly Dictionary<string, List<(EntitySchema Child, Field Field)>> _children = new(StringComparer.Ordinal);

    public EntityRegistry(IEnumerable<EntitySchema> schemas)
    {
        All = schemas.ToList();
        _byName = All.ToDictionary(s => s.Name, StringComparer.Ordinal);
        _bySegment = All.ToDictionary(s => s.UrlSegment, StringComparer.Ordinal);
        foreach (var schema in All)
        {
            foreach (var field in schema.ForeignFields)
            {
                if (!_children.TryGetValue(field.Reference!, out var list))
                    _children[field.Reference!] = list = [];
                list.Add((schema, field));
            }
        }
    }

    public IReadOnlyList<EntitySchema> All { get; }

    /// <summary>Array fields whose elements are ids of <paramref name="entity"/> (a service's ca_certificates).</summary>
    public IEnumerable<(EntitySchema Schema, Field Field)> ArrayReferencesTo(string entity) =>
        All.SelectMany(s => s.StoredFields.Where(f => f.ElementReference == entity).Select(f => (s, f)));

    public EntitySchema Get(string name) =>
        _byName.TryGetValue(name, out var schema) ? schema : throw new KeyNotFoundException($"no entity schema named '{name}'");

    public EntitySchema? Find(string name) => _byName.GetValueOrDefault(name);

    public EntitySchema? FindBySegment(string segment) => _bySegment.GetValueOrDefault(segment);

    /// <summary>Schemas with a foreign field pointing at <paramref name="parent"/>.</summary>
    public IReadOnlyList<(EntitySchema Child, Field Field)> ChildrenOf(string parent) =>
        _children.TryGetValue(parent, out var list) ? list : [];
}
