using Gantry.Configuration;

namespace Gantry.Migrations;

/// <summary>A piece of SQL written for each database (an expression, a condition), as operations take it.</summary>
public sealed record DialectSql(string Postgres, string Sqlite)
{
    /// <summary>The same text on both databases.</summary>
    public static DialectSql Both(string sql) => new(sql, sql);

    public string For(DatabaseKind kind) => kind == DatabaseKind.Postgres ? Postgres : Sqlite;
}
