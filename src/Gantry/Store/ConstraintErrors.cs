using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Store;

/// <summary>
/// Kong's answers for a constraint the database enforced on an entity's row: the pre-checks of the write
/// name the field first, and these cover a concurrent writer that got past them.
/// </summary>
internal static class ConstraintErrors
{
    /// <summary>The violation as Kong's error, or null when it is not one of the entity's own constraints.</summary>
    public static EntityException? ForRow(StoreFailure failure, EntitySchema schema, JsonObject entity) => failure.Kind switch
    {
        StoreFailureKind.UniqueViolation => Unique(schema, entity, failure.Constraint),
        StoreFailureKind.ForeignKeyViolation => ForeignKey(schema, entity, failure.Constraint),
        _ => null,
    };

    /// <summary>A clash on a computed key is reported on the fields it is made of, which the client wrote.</summary>
    public static EntityException UniqueOn(Field field, JsonObject entity) => field.KeyOf is { } parts
        ? EntityException.UniqueTogether(parts.Select(name => (name, entity[name])).ToList())
        : EntityException.Unique(field.Name, entity[field.Name]);

    private static EntityException Unique(EntitySchema schema, JsonObject entity, string constraint)
    {
        // PostgreSQL names the constraint (routes_name_key); SQLite's message names the columns (routes.name).
        var field = schema.Fields.Where(f => f.Unique).FirstOrDefault(f => constraint.Contains(f.Column, StringComparison.Ordinal));
        if (field is null && schema.UniqueTogether.FirstOrDefault(t => t.All(n => constraint.Contains(schema.Find(n)!.Column, StringComparison.Ordinal))) is { } together)
            return EntityException.UniqueTogether(together.Select(n => (n, entity[n])).ToList());
        return UniqueOn(field ?? schema.Find("id")!, entity);
    }

    /// <summary>A reference to a parent deleted since the check; SQLite does not say which, so the first set reference is named.</summary>
    private static EntityException ForeignKey(EntitySchema schema, JsonObject entity, string constraint)
    {
        var references = schema.ForeignFields.Where(f => entity[f.Name]?["id"] is JsonValue).ToList();
        var field = references.FirstOrDefault(f => constraint.Contains(f.Column, StringComparison.Ordinal)) ?? references.FirstOrDefault();
        if (field is null)
            return EntityException.ForeignKey(schema.ForeignFields.FirstOrDefault()?.Name ?? "id", "", schema.Name);
        return EntityException.ForeignKey(field.Name, entity[field.Name]!["id"]!.GetValue<string>(), field.Reference!);
    }
}
