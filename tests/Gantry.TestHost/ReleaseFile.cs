using System.Text.Json;
using Gantry.Migrations;

namespace Gantry.TestHost;

/// <summary>
/// A release the test suite plays, read from JSON: <c>{"release": "0.2.0", "subsystems": [{"name", "plugin",
/// "migrations": [{"name", "up", "finish"}]}], "introduced_fields": [{"entity": "services", "path": "x"} or
/// {"plugin": "key-auth", "path": "config.x"}, optionally with "release"]}</c>. Release A knows migrations 1 and 2, release B adds 3, and
/// one binary plays both against one database; a <c>delay_ms</c> operation holds a step open so that a
/// process can be killed or raced in the middle of it. Subsystems marked as plugins become installable
/// plugins that the plugins property must name.
/// </summary>
public static class ReleaseFile
{
    public const string EnvironmentVariable = "GANTRY_TESTHOST_RELEASE";

    /// <summary>What the file at <paramref name="path"/> adds to Gantry; nothing without a file.</summary>
    public static GantryHost Load(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return GantryHost.Default;
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        string? release = null;
        if (document.RootElement.TryGetProperty("release", out var claimed))
        {
            if (claimed.ValueKind != JsonValueKind.String || !ReleaseVersion.TryParse(claimed.GetString(), out _))
                throw new InvalidDataException($"'{path}': release '{claimed}' is not of the form major.minor.patch");
            release = claimed.GetString();
        }
        var subsystems = new List<Subsystem>();
        if (document.RootElement.TryGetProperty("subsystems", out var listed))
        {
            foreach (var subsystem in listed.EnumerateArray())
            {
                var migrations = new List<Migration>();
                foreach (var migration in subsystem.GetProperty("migrations").EnumerateArray())
                {
                    var finish = migration.TryGetProperty("finish", out var f) ? ReadStep(f) : null;
                    migrations.Add(new Migration(migration.GetProperty("name").GetString()!, ReadStep(migration.GetProperty("up")), finish));
                }
                var isPlugin = subsystem.TryGetProperty("plugin", out var p) && p.GetBoolean();
                subsystems.Add(new Subsystem(subsystem.GetProperty("name").GetString()!, isPlugin, migrations));
            }
        }
        return new GantryHost { ExtraSubsystems = subsystems, Release = release, IntroducedFields = ReadIntroducedFields(document.RootElement, release, path) };
    }

    // Fields this release added, so that a control plane playing it strips them for data planes of earlier
    // releases: {"entity": "services", "path": "x"} or {"plugin": "key-auth", "path": "config.x"}; "release"
    // defaults to the file's own.
    private static List<Clustering.Compatibility.FieldIntroduction> ReadIntroducedFields(JsonElement root, string? release, string path)
    {
        var fields = new List<Clustering.Compatibility.FieldIntroduction>();
        if (!root.TryGetProperty("introduced_fields", out var listed))
            return fields;
        foreach (var field in listed.EnumerateArray())
        {
            var introducedIn = String(field, "release") ?? release
                ?? throw new InvalidDataException($"'{path}': introduced_fields needs a \"release\", in the field or at the top of the file");
            if (!ReleaseVersion.TryParse(introducedIn, out _))
                throw new InvalidDataException($"'{path}': introduced_fields release '{introducedIn}' is not of the form major.minor.patch");
            var fieldPath = Required(field, "path");
            fields.Add(String(field, "plugin") is { } plugin
                ? Clustering.Compatibility.FieldIntroduction.OfPlugin(introducedIn, plugin, fieldPath)
                : Clustering.Compatibility.FieldIntroduction.OfEntity(introducedIn, Required(field, "entity"), fieldPath));
        }
        return fields;
    }

    // A step is a list of operations: {"sql": "..."} for both databases or {"postgres": "...", "sqlite": "..."},
    // each optionally with "lock", "reason", "table" and "undo"; {"delay_ms": 3000}; or one typed operation
    // named as in ReadOperation, such as {"add_column": {"table": "items", "name": "label", "type": "text"}},
    // {"sync_trigger": {"name", "table", "column", "sources": [...], "expression", "key"}} or
    // {"backfill": {"table", "key", "set", "filter", "batch_size", "pause_ms", "statement_timeout_ms"}}.
    // "expression", "set" and "filter" may instead be given per database as "<name>_postgres" and "<name>_sqlite".
    private static MigrationStep ReadStep(JsonElement step)
    {
        var operations = new List<MigrationOperation>();
        foreach (var operation in step.EnumerateArray())
            operations.Add(ReadOperation(operation));
        return new MigrationStep([.. operations]);
    }

    private static MigrationOperation ReadOperation(JsonElement operation)
    {
        if (operation.TryGetProperty("delay_ms", out var delay))
            return new DelayOperation(delay.GetInt32());
        if (operation.TryGetProperty("sql", out _) || operation.TryGetProperty("postgres", out _))
        {
            var postgres = String(operation, "sql") ?? String(operation, "postgres") ?? "";
            var sqlite = String(operation, "sql") ?? String(operation, "sqlite") ?? "";
            LockLevel? declared = String(operation, "lock") is { } lockName ? ParseLock(lockName) : null;
            var undo = String(operation, "undo") is { } undoSql ? new SqlOperation(undoSql, undoSql, declared, "undo", String(operation, "table")) : null;
            return new SqlOperation(postgres, sqlite, declared, String(operation, "reason"), String(operation, "table"), undo);
        }
        var property = operation.EnumerateObject().Single();
        var a = property.Value;
        return property.Name switch
        {
            "create_table" => new CreateTableOperation(ReadTable(a)),
            "drop_table" => new DropTableOperation(Required(a, "name")),
            "add_column" => new AddColumnOperation(Required(a, "table"), ReadColumn(a)),
            "drop_column" => new DropColumnOperation(Required(a, "table"), Required(a, "name")),
            "rename_column" => new RenameColumnOperation(Required(a, "table"), Required(a, "column"), Required(a, "to")),
            "alter_column_type" => new AlterColumnTypeOperation(Required(a, "table"), Required(a, "column"), ParseType(Required(a, "type"))),
            "set_not_null" => new SetNotNullOperation(Required(a, "table"), Required(a, "column")),
            "add_check_not_null" => AddCheckConstraintOperation.NotNull(Required(a, "table"), Required(a, "column"),
                !a.TryGetProperty("not_valid", out var notValid) || notValid.GetBoolean()),
            "validate_constraint" => new ValidateConstraintOperation(Required(a, "table"), Required(a, "name")),
            "create_index" => new CreateIndexOperation(Required(a, "table"), Required(a, "name"), Columns(a)),
            "create_index_concurrently" => new CreateIndexConcurrentlyOperation(Required(a, "table"), Required(a, "name"),
                a.TryGetProperty("unique", out var unique) && unique.GetBoolean(), Columns(a)),
            "drop_index" => new DropIndexOperation(Required(a, "name"), a.TryGetProperty("concurrently", out var c) && c.GetBoolean()),
            "sync_trigger" => new SyncTriggerOperation(Required(a, "name"), Required(a, "table"), Required(a, "column"),
                a.GetProperty("sources").EnumerateArray().Select(s => s.GetString()!).ToArray(), Dialect(a, "expression"), String(a, "key")),
            "drop_sync_trigger" => new DropSyncTriggerOperation(Required(a, "name"), Required(a, "table")),
            "backfill" => new BackfillOperation(new BackfillDefinition(Required(a, "table"), Required(a, "key"), Dialect(a, "set"),
                a.TryGetProperty("filter", out _) || a.TryGetProperty("filter_postgres", out _) ? Dialect(a, "filter") : null,
                Int(a, "batch_size") ?? 1000, Int(a, "pause_ms") ?? 0, Int(a, "statement_timeout_ms") ?? 5000)),
            _ => throw new InvalidDataException($"unknown operation '{property.Name}'"),
        };
    }

    private static TableDefinition ReadTable(JsonElement table)
    {
        var definition = new TableDefinition(Required(table, "name"));
        foreach (var column in table.GetProperty("columns").EnumerateArray())
        {
            if (column.TryGetProperty("primary_key", out var pk) && pk.GetBoolean())
                definition.PrimaryKey(Required(column, "name"), ParseType(Required(column, "type")));
            else
                definition.Column(Required(column, "name"), ParseType(Required(column, "type")),
                    column.TryGetProperty("not_null", out var nn) && nn.GetBoolean());
        }
        return definition;
    }

    private static ColumnDefinition ReadColumn(JsonElement column)
    {
        object? defaultValue = null;
        if (column.TryGetProperty("default", out var value))
            defaultValue = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetInt64(),
                JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
                _ => null,
            };
        if (column.TryGetProperty("default_sql", out var expression))
            defaultValue = new SqlDefault(expression.GetString()!, expression.GetString()!, column.TryGetProperty("volatile", out var v) && v.GetBoolean());
        return new ColumnDefinition(Required(column, "name"), ParseType(Required(column, "type")),
            NotNull: column.TryGetProperty("not_null", out var nn) && nn.GetBoolean(), Default: defaultValue);
    }

    private static string[] Columns(JsonElement element) => element.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToArray();

    // "set": "..." for both databases, or "set_postgres" and "set_sqlite".
    private static DialectSql Dialect(JsonElement element, string name) => String(element, name) is { } both
        ? DialectSql.Both(both)
        : new DialectSql(Required(element, name + "_postgres"), Required(element, name + "_sqlite"));

    private static int? Int(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetInt32() : null;

    private static string? String(JsonElement element, string name) => element.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static string Required(JsonElement element, string name) =>
        String(element, name) ?? throw new InvalidDataException($"'{name}' is required in {element}");

    private static ColumnType ParseType(string type) => type switch
    {
        "text" => ColumnType.Text,
        "integer" => ColumnType.Integer,
        "bigint" => ColumnType.BigInt,
        "uuid" => ColumnType.Uuid,
        "float" => ColumnType.Float,
        "bool" => ColumnType.Bool,
        "json" => ColumnType.Json,
        _ => throw new InvalidDataException($"unknown column type '{type}'"),
    };

    private static LockLevel ParseLock(string name) =>
        Enum.Parse<LockLevel>(name.Replace("_", "").Replace(" ", ""), ignoreCase: true);
}
