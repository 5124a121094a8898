using System.Text.Json.Nodes;

namespace Gantry.Clustering.Compatibility;

/// <summary>What <see cref="FieldStripper.Strip"/> returns: the entity to send, and the fields it lacks for that reason.</summary>
/// <param name="Entity">The entity given when nothing was removed (no copy); otherwise a stripped copy.</param>
/// <param name="Removed">The table's rows whose field was present and removed (at least one value of it, for a path through an array).</param>
public readonly record struct FieldStripResult(JsonObject Entity, IReadOnlyList<FieldIntroduction> Removed);

/// <summary>
/// Leaves out of an entity in wire form (as <see cref="Declarative.DeclarativeExporter"/> writes it) the
/// fields a data plane's release does not know, by a table of the releases that introduced them. The
/// control plane keeps one wire form per entity for every data plane, so the entity given is never
/// changed: a stripped copy is returned, and only when there was something to strip.
/// </summary>
public sealed class FieldStripper
{
    private readonly Dictionary<string, FieldIntroduction[]> _byEntityType;

    public FieldStripper(IEnumerable<FieldIntroduction> table)
    {
        Table = table.ToArray();
        _byEntityType = Table.GroupBy(f => f.EntityType, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        Newest = Table.Count == 0 ? null : Table.Max(f => f.Release);
    }

    /// <summary>The built-in table (<see cref="FieldIntroductions.BuiltIn"/>).</summary>
    public static FieldStripper Default { get; } = new(FieldIntroductions.BuiltIn);

    /// <summary>The built-in table and the rows <paramref name="host"/> adds (a test host playing another release).</summary>
    public static FieldStripper For(GantryHost host) =>
        host.IntroducedFields.Count == 0 ? Default : new FieldStripper([.. FieldIntroductions.BuiltIn, .. host.IntroducedFields]);

    public IReadOnlyList<FieldIntroduction> Table { get; }

    /// <summary>The newest release in the table; null for an empty table.</summary>
    public ReleaseVersion? Newest { get; }

    /// <summary>False when a data plane of this release knows every field of the table: nothing it is sent needs <see cref="Strip"/>.</summary>
    public bool Strips(ReleaseVersion dataPlane) => Newest is { } newest && newest > dataPlane;

    /// <param name="entityType">The entity's collection as the wire names it ("services", "plugins").</param>
    /// <param name="entity">The entity in wire form; not changed.</param>
    /// <param name="dataPlane">The release of the data plane it is sent to.</param>
    public FieldStripResult Strip(string entityType, JsonObject entity, ReleaseVersion dataPlane)
    {
        if (!Strips(dataPlane) || !_byEntityType.TryGetValue(entityType, out var rows))
            return new FieldStripResult(entity, []);
        JsonObject? copy = null;
        List<FieldIntroduction>? removed = null;
        foreach (var row in rows)
        {
            if (row.Release <= dataPlane)
                continue;
            if (row.Plugin is not null && !(entity["name"] is JsonValue name && name.TryGetValue<string>(out var plugin) && plugin == row.Plugin))
                continue;
            var path = row.Path.Split('.');
            if (!Present(entity, path, 0))
                continue;
            copy ??= (JsonObject)entity.DeepClone();
            Remove(copy, path, 0);
            (removed ??= []).Add(row);
        }
        return new FieldStripResult(copy ?? entity, (IReadOnlyList<FieldIntroduction>?)removed ?? []);
    }

    private static bool Present(JsonNode? node, string[] path, int depth) => node switch
    {
        JsonObject o when depth == path.Length - 1 => o.ContainsKey(path[depth]),
        JsonObject o => o.TryGetPropertyValue(path[depth], out var child) && Present(child, path, depth + 1),
        JsonArray a => a.Any(item => Present(item, path, depth)),
        _ => false,
    };

    private static void Remove(JsonNode? node, string[] path, int depth)
    {
        switch (node)
        {
            case JsonObject o when depth == path.Length - 1:
                o.Remove(path[depth]);
                break;
            case JsonObject o when o.TryGetPropertyValue(path[depth], out var child):
                Remove(child, path, depth + 1);
                break;
            case JsonArray a:
                foreach (var item in a)
                    Remove(item, path, depth);
                break;
        }
    }
}
