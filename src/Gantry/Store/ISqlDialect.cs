using System.Data.Common;
using System.Text.Json.Nodes;
using Gantry.Configuration;

namespace Gantry.Store;

/// <summary>How a column is stored, which decides how its values are bound, selected and read.</summary>
public enum ColumnStorage
{
    Text,
    Uuid,
    Integer,
    Number,
    Boolean,
    TextArray,
    Json,
}

/// <summary>
/// Everything that differs between PostgreSQL and SQLite in the SQL the stores write and in the errors
/// they raise. Store classes build one statement for both databases and ask the dialect for the parts
/// that differ; no other code branches on the kind of database.
/// </summary>
public interface ISqlDialect
{
    DatabaseKind Kind { get; }

    /// <summary>The placeholder of a parameter, cast to the column's type where the database needs it.</summary>
    string Parameter(string name, ColumnStorage storage);

    /// <summary>A column in a select list, converted to what <see cref="EntityRowMapper"/> reads.</summary>
    string SelectColumn(string quotedColumn, ColumnStorage storage);

    /// <summary>The value bound for a UUID (PostgreSQL's uuid, SQLite's lower-case text).</summary>
    object Uuid(string id);

    object Boolean(bool value);

    object TextArray(string[] values, string json);

    bool ReadBoolean(DbDataReader reader, int ordinal);

    /// <summary>A text array column (PostgreSQL's text[], SQLite's JSON text) as a JSON array.</summary>
    JsonNode? ReadTextArray(DbDataReader reader, int ordinal);

    /// <summary>The database's clock in epoch seconds: no node's clock orders cluster events.</summary>
    string NowEpochSeconds { get; }

    /// <summary>A condition: the JSON array in <paramref name="quotedColumn"/> holds the text parameter.</summary>
    string JsonArrayContains(string quotedColumn, string parameterName);

    /// <summary>
    /// Appended to a select that reads the rows a write depends on: locks them until commit where the
    /// database locks rows (PostgreSQL); nothing where one writer holds the whole file (SQLite).
    /// </summary>
    string LockForUpdate { get; }

    /// <summary>Like <see cref="LockForUpdate"/>, for a parent that a new reference points at.</summary>
    string LockForReference { get; }

    /// <summary>Run first in every write transaction (empty when nothing is needed).</summary>
    string BeginWrite { get; }

    /// <summary>
    /// Starts a read-only transaction whose reads all see one state of the database (an export), without
    /// holding writers back; ended with ROLLBACK.
    /// </summary>
    string BeginSnapshot { get; }

    /// <summary>What a failure of a statement means to the write path.</summary>
    StoreFailure Classify(Exception exception);
}

/// <summary>The kinds of database failure the write path treats differently.</summary>
public enum StoreFailureKind
{
    /// <summary>Not a failure the store knows (a bug, a schema mismatch): it stays a 500.</summary>
    Other,

    /// <summary>The database cannot be reached or cannot serve (connection refused or lost, shutting down, file unreadable).</summary>
    Unavailable,

    /// <summary>A conflict with a concurrent transaction that running the transaction again resolves (deadlock, serialization, busy).</summary>
    Retryable,

    UniqueViolation,

    ForeignKeyViolation,
}

/// <param name="Constraint">The violated constraint's name or message, for naming the field.</param>
public readonly record struct StoreFailure(StoreFailureKind Kind, string Constraint = "");
