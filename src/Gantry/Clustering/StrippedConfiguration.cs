using System.Text.Json.Nodes;
using Gantry.Clustering.Compatibility;

namespace Gantry.Clustering;

/// <summary>
/// The configuration as data planes of one older release are sent it: every entity the table of introduced
/// fields strips (<see cref="FieldStripper"/>) in its stripped form, the rest as served. The control plane
/// keeps one per release that needs stripping, shared by every data plane of that release, and follows the
/// served configuration one entity at a time: it holds only the entities that lost a field, and its hash
/// is the served sum less what stripping took from each of them, so no change makes it rehash everything.
/// Not thread-safe: the feed guards it.
/// </summary>
public sealed class StrippedConfiguration
{
    private readonly FieldStripper _stripper;
    private readonly HashSet<string> _strippedTypes;
    private readonly Dictionary<(string Type, string Id), Stripped> _stripped = [];
    private readonly Dictionary<FieldIntroduction, int> _fields = [];
    private UInt128 _difference;

    private sealed record Stripped(WireEntity Entity, UInt128 Difference, IReadOnlyList<FieldIntroduction> Removed);

    public StrippedConfiguration(ReleaseVersion release, FieldStripper stripper)
    {
        Release = release;
        _stripper = stripper;
        // Only entities of these types can lose a field: the others are never parsed.
        _strippedTypes = stripper.Table.Where(f => f.Release > release).Select(f => f.EntityType).ToHashSet(StringComparer.Ordinal);
    }

    public ReleaseVersion Release { get; }

    /// <summary>How many entities are sent without a field.</summary>
    public int Count => _stripped.Count;

    /// <summary>The fields left out of at least one entity now.</summary>
    public IReadOnlyList<FieldIntroduction> Fields => [.. _fields.Keys];

    /// <summary>The hash of what these data planes are sent, given the sum of the served configuration.</summary>
    public string HashOf(UInt128 servedSum) => ConfigHash.Format(servedSum - _difference);

    /// <summary>
    /// Follows an entity put into the served configuration; returns the form these data planes are sent
    /// (the entity itself when nothing was stripped) and adds to <paramref name="removed"/> the fields left out.
    /// </summary>
    public WireEntity Put(WireEntity entity, ISet<FieldIntroduction>? removed = null)
    {
        Remove(entity.Type, entity.Id);
        if (!_strippedTypes.Contains(entity.Type) || JsonNode.Parse(entity.Json) is not JsonObject parsed)
            return entity;
        var result = _stripper.Strip(entity.Type, parsed, Release);
        if (result.Removed.Count == 0)
            return entity;
        var sent = WireEntity.Of(entity.Type, entity.Id, result.Entity.ToJsonString());
        var difference = entity.Term - sent.Term;
        _stripped[(entity.Type, entity.Id)] = new Stripped(sent, difference, result.Removed);
        _difference += difference;
        foreach (var field in result.Removed)
        {
            _fields[field] = _fields.GetValueOrDefault(field) + 1;
            removed?.Add(field);
        }
        return sent;
    }

    /// <summary>Follows an entity removed from the served configuration.</summary>
    public void Remove(string type, string id)
    {
        if (!_stripped.Remove((type, id), out var old))
            return;
        _difference -= old.Difference;
        foreach (var field in old.Removed)
        {
            if (--_fields[field] == 0)
                _fields.Remove(field);
        }
    }

    /// <summary>The form of a served entity these data planes are sent.</summary>
    public WireEntity SentForm(WireEntity served) => _stripped.TryGetValue((served.Type, served.Id), out var stripped) ? stripped.Entity : served;
}
