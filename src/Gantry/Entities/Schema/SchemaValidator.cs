using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gantry.Entities.Schema;

public enum WriteMode
{
    /// <summary>POST: a new entity; absent fields take their defaults.</summary>
    Insert,
    /// <summary>PUT: the whole entity is replaced; absent fields take their defaults.</summary>
    Replace,
    /// <summary>PATCH: the given fields change; records merge into the stored ones.</summary>
    Update,
}

/// <summary>
/// Turns a client's input into a complete, valid entity: coerces form-encoded strings to the field's
/// type, applies defaults and automatic values, checks every field and every rule across fields, and
/// reports every violation at once.
/// </summary>
public static class SchemaValidator
{
    /// <param name="input">The client's fields.</param>
    /// <param name="existing">For updates, the stored entity the input is merged into.</param>
    /// <param name="lenient">Values came from a form or a URL, as strings to be coerced.</param>
    /// <param name="transform">
    /// False for a declarative document with <c>_transform: false</c>: its values are already as stored (a
    /// basic-auth password is its hash), so the schema's <see cref="EntitySchema.OnWrite"/> is not run.
    /// </param>
    public static JsonObject Prepare(EntitySchema schema, JsonObject input, WriteMode mode, JsonObject? existing, bool lenient, ValidationErrors errors, bool transform = true)
    {
        var result = mode == WriteMode.Update && existing is not null ? (JsonObject)existing.DeepClone() : [];
        // A plugin validates its config with its own record: the fields depend on the entity's name.
        var fields = schema.FieldsFor(input, existing);
        foreach (var (name, value) in input)
        {
            var field = Find(fields, name);
            if (field is null)
            {
                errors.Add([name], "unknown field");
                continue;
            }
            if (field.ReadOnly && name is not ("created_at" or "updated_at"))
            {
                errors.Add([name], "cannot be set");
                continue;
            }
            var merged = mode == WriteMode.Update && field.Kind == FieldKind.Record && value is JsonObject patch && result[name] is JsonObject stored
                ? MergeRecord(stored, patch)
                : value?.DeepClone();
            result[name] = Coerce(field, merged, lenient, [name], errors);
        }
        if (mode != WriteMode.Update)
            ApplyDefaults(fields, result);
        else
            ApplyRecordDefaults(fields, result);
        foreach (var field in fields)
            Validate(field, result[field.Name], [field.Name], errors, lenient);
        // Fields unique together (an ACL's group with its consumer) are indexed too; see MaxUniqueLength.
        foreach (var name in schema.UniqueTogether.SelectMany(names => names).Distinct())
        {
            if (result[name] is JsonValue value && value.TryGetValue(out string? text) && text.Length > MaxUniqueLength)
                errors.Add([name], $"length must be at most {MaxUniqueLength}");
        }
        if (!errors.Any)
        {
            if (transform)
                schema.OnWrite?.Invoke(input, result);
            schema.Normalize?.Invoke(result);
            Run(schema.ReadingChecks.Select(check => check.Run).ToList(), result, errors);
            Run(schema.EntityChecks, result, errors);
            if (!errors.Any)
                Run(schema.CompiledChecks, result, errors);
        }
        else
        {
            var runnable = schema.ReadingChecks.Where(check => !check.Reads.Any(errors.HasErrorAt)).Select(check => check.Run).ToList();
            Run(runnable, result, errors);
        }
        return result;
    }

    private static void Run(IReadOnlyList<Func<JsonObject, IEnumerable<(string? Field, string Message)>>> checks, JsonObject entity, ValidationErrors errors)
    {
        foreach (var check in checks)
        {
            foreach (var (fieldName, message) in check(entity))
            {
                if (fieldName is null)
                    errors.AddEntity(message);
                else
                    errors.Add(fieldName.Split('.'), message);
            }
        }
    }

    /// <summary>Validates a standalone record (a plugin's config) and fills its defaults.</summary>
    public static JsonObject PrepareRecord(IReadOnlyList<Field> fields, JsonObject input, bool lenient, IReadOnlyList<string> path, ValidationErrors errors)
    {
        var record = new Field(path.Count > 0 ? path[^1] : "config", FieldKind.Record) { Fields = fields };
        var result = Coerce(record, input.DeepClone(), lenient, path, errors) as JsonObject ?? [];
        ApplyDefaults(fields, result);
        Validate(record, result, path, errors, lenient);
        return result;
    }

    /// <summary>
    /// Gives a stored row the schema's default for every field it lacks or holds as null where the
    /// schema has a default: how rows written by an older release, or by hand, are read.
    /// </summary>
    public static void FillDefaults(EntitySchema schema, JsonObject row) => ApplyDefaults(schema.FieldsFor(row, null), row);

    /// <summary>What a required record that is left out becomes: its fields' defaults (nested records filled too), nulls left out.</summary>
    public static JsonObject RecordDefaults(IReadOnlyList<Field> fields)
    {
        var record = new JsonObject();
        ApplyDefaults(fields, record);
        return WithoutNulls(record);
    }

    private static JsonObject WithoutNulls(JsonObject record)
    {
        var result = new JsonObject();
        foreach (var (key, value) in record)
        {
            if (value is not null)
                result[key] = value is JsonObject nested ? WithoutNulls(nested) : value.DeepClone();
        }
        return result;
    }

    private static Field? Find(IReadOnlyList<Field> fields, string name)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (fields[i].Name == name)
                return fields[i];
        }
        return null;
    }

    /// <summary>
    /// On update, a record's fields added by a newer release (a plugin's new config field) take their
    /// defaults, as they would have on insert; fields outside records stay as stored, except that a field
    /// set to null takes its default, as on insert and replace (a PATCH of <c>enabled: null</c> stored a
    /// null its NOT NULL column refused).
    /// </summary>
    private static void ApplyRecordDefaults(IReadOnlyList<Field> fields, JsonObject target)
    {
        foreach (var field in fields)
        {
            if (field.Default is not null && target.TryGetPropertyValue(field.Name, out var value) && value is null)
                target[field.Name] = field.Default.DeepClone();
            if (field.Kind == FieldKind.Record && field.Fields is not null && target[field.Name] is JsonObject nested)
                ApplyDefaults(field.Fields, nested);
        }
    }

    private static JsonObject MergeRecord(JsonObject stored, JsonObject patch)
    {
        var merged = (JsonObject)stored.DeepClone();
        foreach (var (key, value) in patch)
            merged[key] = value is JsonObject nested && merged[key] is JsonObject existing ? MergeRecord(existing, nested) : value?.DeepClone();
        return merged;
    }

    private static void ApplyDefaults(IReadOnlyList<Field> fields, JsonObject target)
    {
        foreach (var field in fields)
        {
            var present = target.TryGetPropertyValue(field.Name, out var value) && value is not null;
            if (!present)
            {
                var fill = field.Default?.DeepClone() ?? AutoValueFor(field);
                if (fill is not null || !target.ContainsKey(field.Name))
                    target[field.Name] = fill;
            }
            if (field.Kind == FieldKind.Record && target[field.Name] is JsonObject nested && field.Fields is not null)
                ApplyDefaults(field.Fields, nested);
            if (field.Kind == FieldKind.Record && target[field.Name] is null && field.Fields is not null && field.Required)
            {
                // A required record with every field defaulted may be omitted entirely.
                var record = new JsonObject();
                ApplyDefaults(field.Fields, record);
                target[field.Name] = record;
            }
        }
    }

    private static JsonNode? AutoValueFor(Field field) => field.Auto switch
    {
        AutoValue.Uuid => Guid.NewGuid().ToString(),
        AutoValue.Timestamp when field.Kind == FieldKind.Number => Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3),
        AutoValue.Timestamp => DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        AutoValue.RandomString => RandomString(32),
        _ => null,
    };

    private static string RandomString(int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return System.Security.Cryptography.RandomNumberGenerator.GetString(alphabet, length);
    }

    /// <summary>Form and query values arrive as strings; turn them into the field's type where they parse.</summary>
    private static JsonNode? Coerce(Field field, JsonNode? value, bool lenient, IReadOnlyList<string> path, ValidationErrors errors)
    {
        if (value is null)
            return null;
        switch (field.Kind)
        {
            case FieldKind.Integer when lenient && value is JsonValue v && v.TryGetValue(out string? s):
                return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : value;
            case FieldKind.Number when lenient && value is JsonValue v && v.TryGetValue(out string? s):
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : value;
            case FieldKind.Boolean when lenient && value is JsonValue v && v.TryGetValue(out string? s):
                return s switch { "true" => true, "false" => false, _ => value };
            case FieldKind.Array or FieldKind.Set when value is JsonArray array && field.Elements is not null:
                var items = new JsonArray();
                for (var i = 0; i < array.Count; i++)
                    items.Add(Coerce(field.Elements, array[i]?.DeepClone(), lenient, [.. path, (i + 1).ToString(CultureInfo.InvariantCulture)], errors));
                return items;
            case FieldKind.Array or FieldKind.Set when lenient && value is JsonValue single && single.TryGetValue(out string? one) && field.Elements is not null:
                // A single form value for a list: "methods=GET", or "" for an empty list.
                return one.Length == 0 ? new JsonArray() : new JsonArray(Coerce(field.Elements, one, lenient, path, errors));
            case FieldKind.Record when value is JsonObject record && field.Fields is not null:
                var result = new JsonObject();
                foreach (var (key, item) in record)
                {
                    var child = field.Fields.FirstOrDefault(f => f.Name == key);
                    result[key] = child is null ? item?.DeepClone() : Coerce(child, item?.DeepClone(), lenient, [.. path, key], errors);
                }
                return result;
            case FieldKind.Map when value is JsonObject map && field.Elements is not null:
                var coerced = new JsonObject();
                foreach (var (key, item) in map)
                    coerced[key] = Coerce(field.Elements, item?.DeepClone(), lenient, [.. path, key], errors);
                return coerced;
            case FieldKind.Foreign when value is JsonValue v && v.TryGetValue(out string? id):
                // A bare id is accepted for a reference, as Kong's form encoding allows (service.id=… or service=…).
                return new JsonObject { ["id"] = id };
            default:
                return value;
        }
    }

    private static void Validate(Field field, JsonNode? value, IReadOnlyList<string> path, ValidationErrors errors, bool lenient)
    {
        if (value is null)
        {
            if (field.Required)
                errors.Add(path, "required field missing");
            return;
        }
        var message = TypeError(field, value);
        if (message is not null)
        {
            errors.Add(path, message);
            return;
        }
        switch (field.Kind)
        {
            case FieldKind.String:
                message = StringError(field, value.GetValue<string>());
                break;
            case FieldKind.Integer or FieldKind.Number:
                var number = ToDouble(value);
                if ((field.Min is { } min && number < min) || (field.Max is { } max && number > max))
                    message = field.Min is not null && field.Max is not null
                        ? $"value should be between {field.Min.Value.ToString(CultureInfo.InvariantCulture)} and {field.Max.Value.ToString(CultureInfo.InvariantCulture)}"
                        : field.Min is not null ? $"value must be greater than {field.Min.Value - 1}" : $"value must be at most {field.Max}";
                else if (field.OneOfIntegers is { } integers && !integers.Contains((long)number))
                    message = $"expected one of: {string.Join(", ", integers)}";
                break;
            case FieldKind.Array or FieldKind.Set:
                var array = value.AsArray();
                if (field.MaxItems is { } maxItems && array.Count > maxItems)
                    message = $"length must be at most {maxItems}";
                else if (field.MinItems is { } minItems && array.Count < minItems)
                    message = $"length must be at least {minItems}";
                else if (field.Kind == FieldKind.Set && array.Select(n => n?.ToJsonString()).Distinct().Count() != array.Count)
                    RemoveDuplicates(array);
                if (message is null && field.Elements is not null)
                {
                    for (var i = 0; i < array.Count; i++)
                    {
                        string[] at = [.. path, (i + 1).ToString(CultureInfo.InvariantCulture)];
                        // A null element is not an absent field: it has the element's type or is wrong.
                        if (array[i] is null)
                            errors.Add(at, Expected(field.Elements));
                        else
                            Validate(field.Elements, array[i], at, errors, lenient);
                    }
                }
                break;
            case FieldKind.Map:
                // Kong stops at a map's first bad key or value and reports it as the map's own error.
                foreach (var (key, item) in value.AsObject())
                {
                    if (field.Keys is not null && StringError(field.Keys, key) is { } keyError)
                        message = keyError;
                    else if (field.Elements is not null && item is null)
                        message = Expected(field.Elements);
                    else if (field.Elements is not null)
                    {
                        var inner = new ValidationErrors();
                        Validate(field.Elements, item, path, inner, lenient);
                        if (inner.Any)
                        {
                            errors.AddAll(inner);
                            return;
                        }
                    }
                    if (message is not null)
                        break;
                }
                break;
            case FieldKind.Record when field.Fields is not null:
                var record = value.AsObject();
                foreach (var (key, _) in record)
                {
                    if (field.Fields.All(f => f.Name != key))
                        errors.Add([.. path, key], "unknown field");
                }
                var before = errors.Count;
                foreach (var child in field.Fields)
                    Validate(child, record[child.Name], [.. path, child.Name], errors, lenient);
                if (errors.Count == before && field.RecordCheck?.Invoke(record) is { } recordError)
                    errors.Add([.. path, "@entity"], recordError);
                break;
            case FieldKind.Foreign:
                var reference = value["id"];
                if (reference is not JsonValue idValue || !idValue.TryGetValue(out string? id) || !Guid.TryParse(id, out _))
                    errors.Add([.. path, "id"], "expected a valid UUID");
                break;
        }
        if (message is null && field.Check is not null)
            message = field.Check(value);
        if (message is not null)
            errors.Add(path, message);
    }

    /// <summary>A set keeps the first copy of each value, in order.</summary>
    private static void RemoveDuplicates(JsonArray array)
    {
        var ordered = array.Select(n => n?.DeepClone()).ToList();
        array.Clear();
        var kept = new HashSet<string>();
        foreach (var node in ordered)
        {
            if (kept.Add(node?.ToJsonString() ?? "null"))
                array.Add(node);
        }
    }

    private static string? TypeError(Field field, JsonNode value)
    {
        var kind = value.GetValueKind();
        var fits = field.Kind switch
        {
            FieldKind.String => kind == JsonValueKind.String,
            FieldKind.Uuid => kind == JsonValueKind.String && Guid.TryParse(value.GetValue<string>(), out _),
            FieldKind.Integer => kind == JsonValueKind.Number && IsInteger(value),
            FieldKind.Number => kind == JsonValueKind.Number,
            FieldKind.Boolean => kind is JsonValueKind.True or JsonValueKind.False,
            FieldKind.Array or FieldKind.Set => kind == JsonValueKind.Array,
            FieldKind.Map or FieldKind.Record or FieldKind.Foreign => kind == JsonValueKind.Object,
            _ => true,
        };
        return fits ? null : Expected(field);
    }

    /// <summary>What a value of the field's type is called in Kong's type errors.</summary>
    private static string Expected(Field field) => field.Kind switch
    {
        FieldKind.String => "expected a string",
        FieldKind.Uuid => "expected a valid UUID",
        FieldKind.Integer => "expected an integer",
        FieldKind.Number => "expected a number",
        FieldKind.Boolean => "expected a boolean",
        FieldKind.Array => "expected an array",
        FieldKind.Set => "expected a set",
        FieldKind.Map => "expected a map",
        _ => "expected a record",
    };

    /// <summary>A JSON number as a double, whichever CLR type the parser or the code stored it as.</summary>
    public static double ToDouble(JsonNode value)
    {
        var v = value.AsValue();
        if (v.TryGetValue(out double d))
            return d;
        if (v.TryGetValue(out long l))
            return l;
        if (v.TryGetValue(out int i))
            return i;
        if (v.TryGetValue(out decimal m))
            return (double)m;
        return v.TryGetValue(out JsonElement e) ? e.GetDouble() : double.NaN;
    }

    private static bool IsInteger(JsonNode value) =>
        value is JsonValue && ToDouble(value) is var d && Math.Abs(d % 1) < double.Epsilon && Math.Abs(d) < 9e15;

    /// <summary>In UTF-16 units: at most 1536 bytes of UTF-8, under PostgreSQL's btree entry limit.</summary>
    public const int MaxUniqueLength = 512;

    private static string? StringError(Field field, string value)
    {
        if (field.MinLength is { } min && value.Length < min)
            return min == 1 ? "length must be at least 1" : $"length must be at least {min}";
        if (field.MaxLength is { } max && value.Length > max)
            return $"length must be at most {max}";
        // A unique value is indexed whole, and PostgreSQL refuses an index entry over about 2.7 kB (a 500).
        if (field.Unique && field.MaxLength is null && value.Length > MaxUniqueLength)
            return $"length must be at most {MaxUniqueLength}";
        if (field.OneOf is { } allowed && !allowed.Contains(value, StringComparer.Ordinal))
            return $"expected one of: {string.Join(", ", allowed)}";
        if (field.Pattern is { } pattern && !pattern.IsMatch(value))
            return field.PatternMessage is null ? $"invalid value: {value}" : $"{field.PatternMessage}: {value}";
        return null;
    }
}
