using System.Collections.Frozen;
using System.Text.Json;

namespace Gantry.Clustering;

/// <summary>
/// The names of the plugins a configuration uses (its plugin entities' names), kept up to date one entity
/// at a time as the configuration changes, so that checking a data plane's plugins never scans every
/// entity. <see cref="Current"/> is a new set only when a name appears or disappears, so a data plane's
/// link can keep its last verdict for as long as the same set comes back. Not thread-safe: the feed guards it.
/// </summary>
public sealed class PluginUsage
{
    public const string EntityType = "plugins";

    private readonly Dictionary<string, string> _nameById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _instances = new(StringComparer.Ordinal);
    private IReadOnlySet<string> _current = FrozenSet<string>.Empty;

    /// <summary>The names used now; the same object until a name is added or its last instance goes.</summary>
    public IReadOnlySet<string> Current => _current;

    public void Put(WireEntity entity)
    {
        if (entity.Type != EntityType)
            return;
        var name = NameOf(entity.Json);
        if (_nameById.TryGetValue(entity.Id, out var old))
        {
            if (old == name)
                return;
            Forget(old);
        }
        _nameById[entity.Id] = name;
        var count = _instances.GetValueOrDefault(name);
        _instances[name] = count + 1;
        if (count == 0)
            _current = _instances.Keys.ToFrozenSet(StringComparer.Ordinal);
    }

    public void Remove(string type, string id)
    {
        if (type == EntityType && _nameById.Remove(id, out var name))
            Forget(name);
    }

    private void Forget(string name)
    {
        var count = _instances[name] - 1;
        if (count > 0)
        {
            _instances[name] = count;
            return;
        }
        _instances.Remove(name);
        _current = _instances.Keys.ToFrozenSet(StringComparer.Ordinal);
    }

    private static string NameOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
    }
}
