using System.Text.Json.Nodes;

namespace Gantry.Entities.Schema;

/// <summary>
/// Schema violations collected over a whole entity, kept in two forms: a tree that mirrors the input's
/// shape (Kong's <c>fields</c>, with <c>@entity</c> for rules across fields) and a flat list for the
/// message ("2 schema violations (host: required field missing; port: …)").
/// </summary>
public sealed class ValidationErrors
{
    private readonly JsonObject _tree = [];
    private readonly List<string> _flat = [];
    private readonly List<(IReadOnlyList<string> Path, string Message)> _added = [];

    public bool Any => _flat.Count > 0;

    /// <summary>Whether a top-level field (or anything inside it) has an error.</summary>
    public bool HasErrorAt(string field) => _tree.ContainsKey(field);

    public int Count => _flat.Count;

    /// <summary>
    /// Adds an error at a field; a path ending in <c>@entity</c> (<c>config.@entity</c>) is a rule across the
    /// fields of that record, listed with the record's other such errors.
    /// </summary>
    public void Add(IReadOnlyList<string> path, string message)
    {
        _added.Add((path, message));
        var entityLevel = path.Count == 0 || path[^1] == "@entity";
        var owner = entityLevel && path.Count > 0 ? path.Take(path.Count - 1).ToList() : path;
        _flat.Add(owner.Count == 0 ? message : $"{string.Join('.', owner)}: {message}");
        var node = _tree;
        for (var i = 0; i < (entityLevel ? owner.Count : path.Count - 1); i++)
        {
            if (node[path[i]] is not JsonObject child)
                node[path[i]] = child = [];
            node = child;
        }
        if (entityLevel)
        {
            if (node["@entity"] is not JsonArray entity)
                node["@entity"] = entity = [];
            entity.Add(message);
            return;
        }
        // A second error on the same field keeps the first: one message per field, as Kong answers.
        node.TryAdd(path[^1], message);
    }

    public void AddEntity(string message) => Add([], message);

    /// <summary>Takes over errors collected apart (a map's value, reported only if it is the map's first).</summary>
    public void AddAll(ValidationErrors other)
    {
        foreach (var (path, message) in other._added)
            Add(path, message);
    }

    /// <summary>
    /// The tree as Kong's JSON shows it: the errors of a list's elements are a list themselves, with null at
    /// the positions that are fine (<c>{"protocols": [null, "expected one of: …"]}</c>).
    /// </summary>
    public JsonObject Fields => (JsonObject)WithLists(_tree);

    /// <summary>Kong's encoder writes a table keyed 1..n as an array up to this index.</summary>
    private const int MaxListPosition = 32768;

    private static JsonNode WithLists(JsonObject node)
    {
        var positions = new SortedDictionary<int, JsonNode?>();
        foreach (var (key, value) in node)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position)
                || position < 1 || position > MaxListPosition)
            {
                positions = null;
                break;
            }
            positions[position] = value;
        }
        if (positions is { Count: > 0 })
        {
            var list = new JsonArray();
            foreach (var (position, value) in positions)
            {
                while (list.Count < position - 1)
                    list.Add(null);
                list.Add(Copy(value));
            }
            return list;
        }
        var copy = new JsonObject();
        foreach (var (key, value) in node)
            copy[key] = Copy(value);
        return copy;
    }

    private static JsonNode? Copy(JsonNode? value) => value is JsonObject child ? WithLists(child) : value?.DeepClone();

    /// <summary>
    /// Kong's order: rules across the entity first, then the fields by name, a record's fields by name within
    /// it, so that the message is the same whatever order the rules ran in.
    /// </summary>
    public string Message
    {
        get
        {
            var lines = new List<string>();
            Flatten(_tree, "", lines);
            return lines.Count == 1 ? $"schema violation ({lines[0]})" : $"{lines.Count} schema violations ({string.Join("; ", lines)})";
        }
    }

    private static void Flatten(JsonObject node, string prefix, List<string> lines)
    {
        var owner = prefix.Length == 0 ? "" : prefix + ": ";
        if (node["@entity"] is JsonArray entity)
        {
            foreach (var message in entity)
                lines.Add(owner + message!.GetValue<string>());
        }
        var names = node.Select(pair => pair.Key).Where(name => name != "@entity").ToList();
        names.Sort(CompareKeys);
        foreach (var name in names)
        {
            var path = prefix.Length == 0 ? name : $"{prefix}.{name}";
            if (node[name] is JsonObject child)
                Flatten(child, path, lines);
            else
                lines.Add($"{path}: {node[name]!.GetValue<string>()}");
        }
    }

    /// <summary>Names in ordinal order; list positions ("2", "10") by number, as Kong sorts its numeric keys.</summary>
    private static int CompareKeys(string a, string b) =>
        int.TryParse(a, out var x) && int.TryParse(b, out var y) ? x.CompareTo(y) : string.CompareOrdinal(a, b);
}
