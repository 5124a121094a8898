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

    public bool Any => _flat.Count > 0;

    public int Count => _flat.Count;

    /// <summary>
    /// Adds an error at a field; a path ending in <c>@entity</c> (<c>config.@entity</c>) is a rule across the
    /// fields of that record, listed with the record's other such errors.
    /// </summary>
    public void Add(IReadOnlyList<string> path, string message)
    {
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

    public JsonObject Fields => _tree;

    public string Message => _flat.Count == 1
        ? $"schema violation ({_flat[0]})"
        : $"{_flat.Count} schema violations ({string.Join("; ", _flat)})";
}
