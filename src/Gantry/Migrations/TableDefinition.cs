using System.Globalization;
using System.Text;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>Column types that mean the same thing on both databases.</summary>
public enum ColumnType
{
    Uuid,
    Text,
    Integer,
    BigInt,
    Float,
    Bool,
    /// <summary>A JSON document: jsonb on PostgreSQL, JSON text on SQLite.</summary>
    Json,
    /// <summary>A set of strings: text[] on PostgreSQL, a JSON array on SQLite.</summary>
    TextArray,
    /// <summary>A set of UUIDs: uuid[] on PostgreSQL, a JSON array on SQLite.</summary>
    UuidArray,
}

public enum OnDelete
{
    NoAction,
    Cascade,
    SetNull,
}

/// <summary>
/// A default computed by the database. A volatile one (random(), clock_timestamp(), gen_random_uuid())
/// makes PostgreSQL rewrite the whole table when the column is added; a stable one (now()) does not.
/// </summary>
public sealed record SqlDefault(string Postgres, string Sqlite, bool Volatile);

public sealed record ColumnReference(string Table, string Column, OnDelete OnDelete);

/// <summary>
/// A column; <see cref="Default"/> is a bool, a number, a string, or a <see cref="SqlDefault"/> expression,
/// rendered per database.
/// </summary>
public sealed record ColumnDefinition(
    string Name,
    ColumnType Type,
    bool NotNull = false,
    bool PrimaryKey = false,
    bool Unique = false,
    object? Default = null,
    ColumnReference? References = null);

/// <summary>A table written once for both databases.</summary>
public sealed class TableDefinition(string name)
{
    private readonly List<ColumnDefinition> _columns = [];
    private readonly List<string[]> _uniqueTogether = [];

    public string Name { get; } = name;

    public IReadOnlyList<ColumnDefinition> Columns => _columns;

    public IReadOnlyList<string[]> UniqueTogether => _uniqueTogether;

    public TableDefinition Column(string name, ColumnType type, bool notNull = false, bool unique = false, object? defaultValue = null)
    {
        _columns.Add(new ColumnDefinition(name, type, notNull, Unique: unique, Default: defaultValue));
        return this;
    }

    public TableDefinition PrimaryKey(string name, ColumnType type = ColumnType.Uuid)
    {
        _columns.Add(new ColumnDefinition(name, type, NotNull: true, PrimaryKey: true));
        return this;
    }

    public TableDefinition ForeignKey(string name, string table, OnDelete onDelete, bool notNull = false, string column = "id")
    {
        _columns.Add(new ColumnDefinition(name, ColumnType.Uuid, notNull, References: new ColumnReference(table, column, onDelete)));
        return this;
    }

    public TableDefinition Unique(params string[] columns)
    {
        _uniqueTogether.Add(columns);
        return this;
    }

    /// <summary>id, created_at and updated_at (Unix seconds), as every Kong entity has them.</summary>
    public TableDefinition EntityColumns()
    {
        PrimaryKey("id");
        Column("created_at", ColumnType.BigInt, notNull: true);
        Column("updated_at", ColumnType.BigInt, notNull: true);
        return this;
    }

    internal string Render(DatabaseKind kind)
    {
        var sql = new StringBuilder();
        sql.Append("CREATE TABLE IF NOT EXISTS ").Append(Sql.Quote(Name)).Append(" (");
        var parts = new List<string>();
        foreach (var column in _columns)
            parts.Add(RenderColumn(column, kind));
        var primaryKeys = _columns.Where(c => c.PrimaryKey).Select(c => Sql.Quote(c.Name)).ToList();
        parts.Add($"PRIMARY KEY ({string.Join(", ", primaryKeys)})");
        foreach (var unique in _uniqueTogether)
            parts.Add($"UNIQUE ({string.Join(", ", unique.Select(Sql.Quote))})");
        sql.Append(string.Join(", ", parts)).Append(')');
        return sql.ToString();
    }

    internal static string RenderColumn(ColumnDefinition column, DatabaseKind kind)
    {
        var sql = new StringBuilder(Sql.Quote(column.Name)).Append(' ').Append(Sql.TypeName(column.Type, kind));
        if (column.NotNull)
            sql.Append(" NOT NULL");
        if (column.Unique)
            sql.Append(" UNIQUE");
        if (column.Default is not null)
            sql.Append(" DEFAULT ").Append(Sql.Literal(column.Default, kind));
        if (column.References is { } reference)
        {
            sql.Append(" REFERENCES ").Append(Sql.Quote(reference.Table)).Append(" (").Append(Sql.Quote(reference.Column)).Append(')');
            sql.Append(reference.OnDelete switch
            {
                OnDelete.Cascade => " ON DELETE CASCADE",
                OnDelete.SetNull => " ON DELETE SET NULL",
                _ => "",
            });
        }
        return sql.ToString();
    }
}

/// <summary>SQL spelling shared by the operations.</summary>
internal static class Sql
{
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    public static string TypeName(ColumnType type, DatabaseKind kind) => kind == DatabaseKind.Postgres
        ? type switch
        {
            ColumnType.Uuid => "uuid",
            ColumnType.Text => "text",
            ColumnType.Integer => "integer",
            ColumnType.BigInt => "bigint",
            ColumnType.Float => "double precision",
            ColumnType.Bool => "boolean",
            ColumnType.Json => "jsonb",
            ColumnType.TextArray => "text[]",
            ColumnType.UuidArray => "uuid[]",
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        }
        : type switch
        {
            ColumnType.Integer or ColumnType.BigInt or ColumnType.Bool => "INTEGER",
            ColumnType.Float => "REAL",
            _ => "TEXT",
        };

    public static string Literal(object value, DatabaseKind kind) => value switch
    {
        SqlDefault expression => kind == DatabaseKind.Postgres ? expression.Postgres : expression.Sqlite,
        bool b when kind == DatabaseKind.Postgres => b ? "TRUE" : "FALSE",
        bool b => b ? "1" : "0",
        string s => "'" + s.Replace("'", "''") + "'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"unsupported default value {value}"),
    };
}
