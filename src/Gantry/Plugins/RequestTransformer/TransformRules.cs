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
    private readonly (string Name, string Value, string? Type)[] _replace;
    private readonly (string Name, string Value, string? Type)[] _add;
    private readonly (string Name, string Value, string? Type)[] _append;

    /// <summary>
    /// The rules of <paramref name="part"/>; with <paramref name="typesField"/> (response-transformer's
    /// <c>json_types</c>), the n-th type of an operation says what JSON type its n-th value is written as.
    /// </summary>
    public TransformRules(PluginConfig config, string part, string? typesField = null)
    {
        _remove = TransformFields.Read(config, "remove", part);
        _rename = TransformFields.ReadPairs(config, "rename", part);
        _replace = Typed(config, "replace", part, typesField);
        _add = Typed(config, "add", part, typesField);
        _append = Typed(config, "append", part, typesField);
    }

    private static (string, string, string?)[] Typed(PluginConfig config, string operation, string part, string? typesField)
    {
        var types = typesField is null ? [] : TransformFields.Read(config, operation, typesField);
        return [.. TransformFields.ReadPairs(config, operation, part).Select((pair, i) => (pair.Name, pair.Value, i < types.Length ? types[i] : null))];
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
        foreach (var (name, value, type) in _replace)
        {
            if (fields.Contains(name))
            {
                fields.Set(name, value, type);
                changed = true;
            }
        }
        foreach (var (name, value, type) in _add)
        {
            if (!fields.Contains(name))
            {
                fields.Set(name, value, type);
                changed = true;
            }
        }
        foreach (var (name, value, type) in _append)
        {
            fields.Append(name, value, type);
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

    /// <summary>Makes <paramref name="value"/> the only value of the name; <paramref name="type"/> matters to JSON only.</summary>
    void Set(string name, string value, string? type = null);

    /// <summary>Adds a value after the name's others (a repeated header or argument, a JSON array).</summary>
    void Append(string name, string value, string? type = null);
}
