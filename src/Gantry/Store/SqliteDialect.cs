using System.Data.Common;
using System.Text.Json.Nodes;
using Gantry.Configuration;
using Microsoft.Data.Sqlite;

namespace Gantry.Store;

public sealed class SqliteDialect : ISqlDialect
{
    // Primary result codes (https://sqlite.org/rescode.html).
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int Constraint = 19;
    private const int NotADatabase = 26;

    // Extended result codes of SQLITE_CONSTRAINT.
    private const int ForeignKey = 787;
    private const int PrimaryKey = 1555;
    private const int UniqueKey = 2067;

    public static SqliteDialect Instance { get; } = new();

    public DatabaseKind Kind => DatabaseKind.Sqlite;

    public string Parameter(string name, ColumnStorage storage) => "@" + name;

    public string SelectColumn(string quotedColumn, ColumnStorage storage) => quotedColumn;

    public object Uuid(string id) => id.ToLowerInvariant();

    public object Boolean(bool value) => value ? 1L : 0L;

    public object TextArray(string[] values, string json) => json;

    public bool ReadBoolean(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) != 0;

    public JsonNode? ReadTextArray(DbDataReader reader, int ordinal) => JsonNode.Parse(reader.GetString(ordinal));

    public string NowEpochSeconds => "((julianday('now') - 2440587.5) * 86400.0)";

    public string JsonArrayContains(string quotedColumn, string parameterName) => $"EXISTS (SELECT 1 FROM json_each({quotedColumn}) WHERE value = @{parameterName})";

    // A write transaction holds the whole file (BEGIN IMMEDIATE), so rows need no locks of their own.
    public string LockForUpdate => "";

    public string LockForReference => "";

    public string BeginWrite => "";

    // A deferred transaction takes its snapshot at its first read and, in WAL mode, never blocks writers.
    public string BeginSnapshot => "BEGIN DEFERRED";

    public StoreFailure Classify(Exception exception) => exception switch
    {
        SqliteException { SqliteErrorCode: Constraint } e => e.SqliteExtendedErrorCode switch
        {
            UniqueKey or PrimaryKey => new(StoreFailureKind.UniqueViolation, e.Message),
            ForeignKey => new(StoreFailureKind.ForeignKeyViolation, e.Message),
            _ => new(StoreFailureKind.Other),
        },
        SqliteException { SqliteErrorCode: Busy or Locked } => new(StoreFailureKind.Retryable),
        SqliteException { SqliteErrorCode: ReadOnly or IoError or Corrupt or Full or CantOpen or NotADatabase } => new(StoreFailureKind.Unavailable),
        IOException or UnauthorizedAccessException => new(StoreFailureKind.Unavailable),
        _ => new(StoreFailureKind.Other),
    };
}
