using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

public enum CatalogFinding
{
    /// <summary>The operation's effect is in the database.</summary>
    Applied,
    /// <summary>The operation's effect is not in the database.</summary>
    Absent,
    /// <summary>It is there but unusable, such as an index a failed concurrent build left invalid.</summary>
    Invalid,
    /// <summary>The operation cannot be checked against the catalog (data changes, raw SQL).</summary>
    Unknown,
}

/// <summary>Reads the database catalog (tables, columns, indexes and their validity, constraints and
/// whether they are validated) on one open connection.</summary>
public sealed class Catalog(DbConnection connection, DatabaseKind databaseKind)
{
    public DatabaseKind Kind { get; } = databaseKind;

    public async Task<bool> TableExistsAsync(string table, CancellationToken cancellationToken) => Kind == DatabaseKind.Postgres
        ? await CountAsync("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = @a AND c.relkind IN ('r', 'p') AND n.nspname = current_schema()", cancellationToken, table) > 0
        : await CountAsync("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @a", cancellationToken, table) > 0;

    public async Task<bool> ColumnExistsAsync(string table, string column, CancellationToken cancellationToken) => Kind == DatabaseKind.Postgres
        ? await CountAsync("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @a AND column_name = @b", cancellationToken, table, column) > 0
        : await CountAsync("SELECT count(*) FROM pragma_table_info(@a) WHERE name = @b", cancellationToken, table, column) > 0;

    public async Task<bool> ColumnIsNotNullAsync(string table, string column, CancellationToken cancellationToken) => Kind == DatabaseKind.Postgres
        ? await CountAsync("SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @a AND column_name = @b AND is_nullable = 'NO'", cancellationToken, table, column) > 0
        : await CountAsync("SELECT count(*) FROM pragma_table_info(@a) WHERE name = @b AND \"notnull\" = 1", cancellationToken, table, column) > 0;

    /// <summary>Applied when the index exists and is valid; Invalid when a failed concurrent build left it.</summary>
    public async Task<CatalogFinding> IndexAsync(string index, CancellationToken cancellationToken)
    {
        if (Kind == DatabaseKind.Sqlite)
            return await CountAsync("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = @a", cancellationToken, index) > 0 ? CatalogFinding.Applied : CatalogFinding.Absent;
        var valid = await ScalarAsync("""
            SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname = @a AND n.nspname = current_schema()
            """, cancellationToken, index);
        return valid switch
        {
            null => CatalogFinding.Absent,
            true => CatalogFinding.Applied,
            _ => CatalogFinding.Invalid,
        };
    }

    /// <summary>Applied when the constraint exists and is validated; Invalid when it exists NOT VALID.</summary>
    public async Task<CatalogFinding> ConstraintAsync(string table, string constraint, CancellationToken cancellationToken)
    {
        if (Kind == DatabaseKind.Sqlite)
            return CatalogFinding.Unknown;
        var validated = await ScalarAsync("""
            SELECT con.convalidated FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname = @a AND con.conname = @b AND n.nspname = current_schema()
            """, cancellationToken, table, constraint);
        return validated switch
        {
            null => CatalogFinding.Absent,
            true => CatalogFinding.Applied,
            _ => CatalogFinding.Invalid,
        };
    }

    /// <summary>PostgreSQL's row estimate (reltuples), else an exact count on SQLite; 0 for a missing table.</summary>
    public async Task<long> EstimateRowsAsync(string table, CancellationToken cancellationToken)
    {
        if (!await TableExistsAsync(table, cancellationToken))
            return 0;
        if (Kind == DatabaseKind.Sqlite)
            return await CountAsync($"SELECT count(*) FROM {Sql.Quote(table)}", cancellationToken);
        var estimate = Convert.ToInt64(await ScalarAsync(
            "SELECT GREATEST(c.reltuples, -1)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = @a AND n.nspname = current_schema()",
            cancellationToken, table));
        // -1: never vacuumed or analysed; counting is the only answer, and fine on a table that small.
        return estimate >= 0 ? estimate : await CountAsync($"SELECT count(*) FROM {Sql.Quote(table)}", cancellationToken);
    }

    private async Task<long> CountAsync(string sql, CancellationToken cancellationToken, params string[] arguments) =>
        Convert.ToInt64(await ScalarAsync(sql, cancellationToken, arguments));

    private async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params string[] arguments)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < arguments.Length; i++)
            command.With(((char)('a' + i)).ToString(), arguments[i]);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }
}
