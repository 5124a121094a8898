using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.RequestTransformer;

/// <summary>
/// The five operations of a transformer on one part of a message (headers, query arguments, body fields),
/// applied in Kong's order: remove, rename, replace (only what is there), add (only what is not), append.
/// </summary>
public sealed class TransformRules
{
    private readonly string[] _remove;
    private readonly (string Name, string Value)[] _rename;
    private readonly (string Name, string Value)[] _replace;
    private readonly (string Name, string Value)[] _add;
    private readonly (string Name, string Value)[] _append;

    public TransformRules(PluginConfig config, string part)
    {
        _remove = TransformFields.Read(config, "remove", part);
        _rename = TransformFields.ReadPairs(config, "rename", part);
        _replace = TransformFields.ReadPairs(config, "replace", part);
        _add = TransformFields.ReadPairs(config, "add", part);
        _append = TransformFields.ReadPairs(config, "append", part);
    }

    /// <summary>No rule at all: the part is left as it came, not even read.</summary>
    public bool IsEmpty => _remove.Length + _rename.Length + _replace.Length + _add.Length + _append.Length == 0;

    /// <summary>Whether any rule names <paramref name="name"/> (case-insensitively, as header names are compared).</summary>
    public bool Touches(string name) =>
        _remove.Contains(name, StringComparer.OrdinalIgnoreCase)
        || _rename.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase) || p.Value.Equals(name, StringComparison.OrdinalIgnoreCase))
        || _replace.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        || _add.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        || _append.Any(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Applies the rules; returns whether anything changed.</summary>
    public bool Apply(IEditableFields fields)
    {
        var changed = false;
        foreach (var name in _remove)
            changed |= fields.Remove(name);
        foreach (var (from, to) in _rename)
        {
            if (fields.Contains(from))
            {
                fields.Rename(from, to);
                changed = true;
            }
        }
        foreach (var (name, value) in _replace)
        {
            if (fields.Contains(name))
            {
                fields.Set(name, value);
                changed = true;
            }
        }
        foreach (var (name, value) in _add)
        {
            if (!fields.Contains(name))
            {
                fields.Set(name, value);
                changed = true;
            }
        }
        foreach (var (name, value) in _append)
        {
            fields.Append(name, value);
            changed = true;
        }
        return changed;
    }
}

/// <summary>A set of named values a transformer edits: headers, query or form arguments, a JSON object's keys.</summary>
public interface IEditableFields
{
    bool Contains(string name);

    /// <summary>Removes every value of the name; returns whether there was one.</summary>
    bool Remove(string name);

    /// <summary>Moves the values of <paramref name="from"/> to <paramref name="to"/>, replacing what <paramref name="to"/> had.</summary>
    void Rename(string from, string to);

    /// <summary>Makes <paramref name="value"/> the only value of the name.</summary>
    void Set(string name, string value);

    /// <summary>Adds a value after the name's others (a repeated header or argument, a JSON array).</summary>
    void Append(string name, string value);
}
