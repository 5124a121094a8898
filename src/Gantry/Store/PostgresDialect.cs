using System.Data.Common;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Gantry.Configuration;
using Npgsql;

namespace Gantry.Store;

/// <param name="commandTimeout">pg_timeout: a write waits for row locks half of it at most.</param>
public sealed class PostgresDialect(TimeSpan commandTimeout) : ISqlDialect
{

    public DatabaseKind Kind => DatabaseKind.Postgres;

    public string Parameter(string name, ColumnStorage storage) => storage switch
    {
        ColumnStorage.Uuid => $"@{name}::uuid",
        ColumnStorage.Json => $"@{name}::jsonb",
        _ => "@" + name,
    };

    public string SelectColumn(string quotedColumn, ColumnStorage storage) => storage == ColumnStorage.Json ? quotedColumn + "::text" : quotedColumn;

    public object Uuid(string id) => Guid.Parse(id);

    public object Boolean(bool value) => value;

    public object TextArray(string[] values, string json) => values;

    public bool ReadBoolean(DbDataReader reader, int ordinal) => reader.GetBoolean(ordinal);

    public JsonNode? ReadTextArray(DbDataReader reader, int ordinal) => new JsonArray(reader.GetFieldValue<string[]>(ordinal).Select(s => (JsonNode?)s).ToArray());

    public string NowEpochSeconds => "extract(epoch FROM clock_timestamp())";

    public string JsonArrayContains(string quotedColumn, string parameterName) => $"{quotedColumn} @> jsonb_build_array(@{parameterName}::text)";

    public string LockForUpdate => " FOR UPDATE";

    // KEY SHARE is what PostgreSQL's own foreign key check takes: it lets others update the parent,
    // and makes a delete of it wait until the child is committed (and then see it).
    public string LockForReference => " FOR KEY SHARE";

    // A lock wait that outlasts the client's command timeout would end in Npgsql dropping the connection,
    // which reads as an unreachable database; ended by the server first, it is a conflict to retry.
    public string BeginWrite { get; } = commandTimeout > TimeSpan.Zero
        ? $"SET LOCAL lock_timeout = {Math.Max(100, (int)(commandTimeout.TotalMilliseconds / 2))}"
        : "";

    public string BeginSnapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

    public StoreFailure Classify(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } e => new(StoreFailureKind.UniqueViolation, e.ConstraintName ?? ""),
        PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation } e => new(StoreFailureKind.ForeignKeyViolation, e.ConstraintName ?? ""),
        PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.LockNotAvailable } =>
            new(StoreFailureKind.Retryable),
        // Class 08 (connection), 53 (out of connections, memory, disk) and 57P (shutting down, cannot connect now).
        PostgresException e when e.SqlState.StartsWith("08", StringComparison.Ordinal) || e.SqlState.StartsWith("53", StringComparison.Ordinal)
            || e.SqlState.StartsWith("57P", StringComparison.Ordinal) => new(StoreFailureKind.Unavailable),
        PostgresException => new(StoreFailureKind.Other),
        // Any other Npgsql failure is the connection's: refused, reset, timed out, broken mid-query.
        NpgsqlException or TimeoutException or SocketException or IOException => new(StoreFailureKind.Unavailable),
        _ => new(StoreFailureKind.Other),
    };
}
