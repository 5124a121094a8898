using System.Data.Common;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Store.DbCommandExtensions;

namespace Gantry.Store;

/// <summary>Between an entity's JSON fields and its table's columns, on one database's dialect.</summary>
public sealed class EntityRowMapper(ISqlDialect dialect)
{
    public ISqlDialect Dialect => dialect;

    public static ColumnStorage StorageOf(Field field) => field.Kind switch
    {
        FieldKind.Uuid or FieldKind.Foreign => ColumnStorage.Uuid,
        FieldKind.Integer => ColumnStorage.Integer,
        FieldKind.Number => ColumnStorage.Number,
        FieldKind.Boolean => ColumnStorage.Boolean,
        FieldKind.Array or FieldKind.Set when field.Elements?.Kind == FieldKind.String => ColumnStorage.TextArray,
        FieldKind.String => ColumnStorage.Text,
        _ => ColumnStorage.Json,
    };

    public object Uuid(string id) => dialect.Uuid(id);

    public string UuidParameter(string name) => dialect.Parameter(name, ColumnStorage.Uuid);

    /// <summary>The placeholder of a value for <paramref name="column"/> (untyped when the column is no field of the schema).</summary>
    public string Parameter(EntitySchema schema, string column, string name)
    {
        var field = schema.StoredFields.FirstOrDefault(f => f.Column == column);
        return field is null ? "@" + name : Parameter(field, name);
    }

    public string Parameter(Field field, string name) => dialect.Parameter(name, StorageOf(field));

    public string SelectList(EntitySchema schema) =>
        string.Join(", ", schema.StoredFields.Select(f => dialect.SelectColumn(Quote(f.Column), StorageOf(f))));

    /// <summary>The value bound for a field; a reference binds its id.</summary>
    public object? ToDb(Field field, JsonNode? value)
    {
        if (value is null)
            return null;
        return StorageOf(field) switch
        {
            ColumnStorage.Uuid => dialect.Uuid(field.Kind == FieldKind.Foreign ? value["id"]!.GetValue<string>() : value.GetValue<string>()),
            ColumnStorage.Integer => (long)SchemaValidator.ToDouble(value),
            ColumnStorage.Number => SchemaValidator.ToDouble(value),
            ColumnStorage.Boolean => dialect.Boolean(value.GetValue<bool>()),
            ColumnStorage.TextArray => dialect.TextArray(value.AsArray().Select(n => n!.GetValue<string>()).ToArray(), value.ToJsonString()),
            ColumnStorage.Json => value.ToJsonString(),
            _ => value.GetValue<string>(),
        };
    }

    /// <summary>One row selected with <see cref="SelectList"/>, as the entity's JSON.</summary>
    public JsonObject Read(EntitySchema schema, DbDataReader reader)
    {
        var entity = new JsonObject();
        for (var i = 0; i < schema.StoredFields.Count; i++)
        {
            var field = schema.StoredFields[i];
            if (reader.IsDBNull(i))
            {
                entity[field.Name] = null;
                continue;
            }
            entity[field.Name] = StorageOf(field) switch
            {
                ColumnStorage.Uuid when field.Kind == FieldKind.Foreign => new JsonObject { ["id"] = reader.GetValue(i).ToString() },
                ColumnStorage.Uuid => reader.GetValue(i).ToString(),
                ColumnStorage.Integer => reader.GetInt64(i),
                ColumnStorage.Number => reader.GetDouble(i),
                ColumnStorage.Boolean => dialect.ReadBoolean(reader, i),
                ColumnStorage.TextArray => dialect.ReadTextArray(reader, i),
                ColumnStorage.Json => JsonNode.Parse(reader.GetString(i)),
                _ => reader.GetString(i),
            };
        }
        return entity;
    }
}
