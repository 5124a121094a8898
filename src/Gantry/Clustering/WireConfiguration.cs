using Gantry.Declarative;
using Gantry.Entities.Schema;

namespace Gantry.Clustering;

/// <summary>One entity as it travels between the planes: its type, id, wire-form JSON and hash term.</summary>
public sealed record WireEntity(string Type, string Id, string Json, UInt128 Term)
{
    public static WireEntity Of(string type, string id, string json) => new(type, id, json, ConfigHash.Term(type, json));
}

/// <summary>
/// A whole hybrid configuration in wire form, one entry per entity, with its additive hash kept up to
/// date as entities are put and removed. The control plane serves from one; a data plane keeps one of
/// what it applied, to check the hash of a delta before writing it and to write its cache. Not
/// thread-safe: each owner guards it.
/// </summary>
public sealed class WireConfiguration
{
    private readonly Dictionary<string, int> _order;
    private readonly Dictionary<(string Type, string Id), WireEntity> _entities = [];

    public WireConfiguration(EntityRegistry registry)
    {
        _order = EntityOrder.Of(registry).Select((schema, index) => (schema.Name, index)).ToDictionary(p => p.Name, p => p.index, StringComparer.Ordinal);
    }

    public UInt128 Sum { get; private set; }

    public string Hash => ConfigHash.Format(Sum);

    public int Count => _entities.Count;

    public WireEntity? Find(string type, string id) => _entities.GetValueOrDefault((type, id));

    public bool Contains(string type, string id) => _entities.ContainsKey((type, id));

    public void Put(WireEntity entity)
    {
        if (_entities.TryGetValue((entity.Type, entity.Id), out var old))
            Sum -= old.Term;
        _entities[(entity.Type, entity.Id)] = entity;
        Sum += entity.Term;
    }

    public void Remove(string type, string id)
    {
        if (_entities.Remove((type, id), out var old))
            Sum -= old.Term;
    }

    public void Clear()
    {
        _entities.Clear();
        Sum = 0;
    }

    /// <summary>Position of an entity type in dependency order (parents first); unknown types last.</summary>
    public int OrderOf(string type) => _order.GetValueOrDefault(type, int.MaxValue);

    /// <summary>Every entity, parents first, then by id: the order a whole configuration is written in.</summary>
    public List<WireEntity> Ordered()
    {
        var list = new List<WireEntity>(_entities.Values);
        list.Sort((a, b) => OrderOf(a.Type) != OrderOf(b.Type) ? OrderOf(a.Type).CompareTo(OrderOf(b.Type)) : string.CompareOrdinal(a.Id, b.Id));
        return list;
    }

    /// <summary>Every entity of one type (for a re-read of everything, to find what disappeared).</summary>
    public IEnumerable<WireEntity> OfType(string type) => _entities.Values.Where(e => e.Type == type);

    public IEnumerable<WireEntity> All => _entities.Values;
}
